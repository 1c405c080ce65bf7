"""The `shellac` command line: the parser in `main`, one module per command group."""
