"""``python -m initcli`` runs the command line."""

from initcli.cli import main

if __name__ == "__main__":
    main()
