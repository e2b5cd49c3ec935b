"""The demo household's sample statements: data only, shipped inside the package as importer.samples."""
