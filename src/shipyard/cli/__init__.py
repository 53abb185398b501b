"""The `shipyard` command line (Typer + Rich)."""
