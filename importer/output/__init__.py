"""Output: every renderer psimport has (tables, CSV, JSON, JSON lines, HTML), one module per command family.

Only `importer.cli` imports this package: the library returns data, and the command line decides
how it looks. `render` holds the formats; the others turn one command's data into them.
"""
