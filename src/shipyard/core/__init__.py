"""Domain types, errors and settings: no I/O, no third-party imports."""
