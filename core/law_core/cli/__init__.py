"""The ``law-core`` command line: one module per subcommand."""
