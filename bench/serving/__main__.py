"""``cd bench && python -m serving``: the serving benchmark alone."""

from serving.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
