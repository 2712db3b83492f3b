"""``python -m mirlearn`` runs the command line (same as the ``mirlearn`` script)."""

from mirlearn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
