"""``python -m critmin`` runs the CLI."""

from critmin.cli import main

main()
