"""The ``snnq`` command line."""
