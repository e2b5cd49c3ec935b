"""`python -m importer` runs the psimport command line."""

from importer.cli import main

main()
