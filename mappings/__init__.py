"""Built-in CSV mappings: YAML data only, shipped inside the package as importer.builtin_mappings."""
