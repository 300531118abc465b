"""law-core-ini: INI files as dictionaries of sections."""
