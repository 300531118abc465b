"""law-core formatters for the file formats of an analysis (see README.md)."""
