"""``python -m scorebridge`` runs the command line."""

from scorebridge.cli import main

main()
