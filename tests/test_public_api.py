"""The names `import importer` promises; changing them is a breaking change."""

import importer


def test_exported_names_are_pinned():
    assert sorted(importer.__all__) == sorted([
        "Account", "AmbiguousWrite", "ApiError", "ConfigError", "ImporterError", "InputError",
        "Split", "Statement", "Transaction", "__version__",
    ])
    for name in importer.__all__:
        assert getattr(importer, name) is not None


def test_error_hierarchy():
    assert issubclass(importer.InputError, importer.ImporterError)
    assert issubclass(importer.ConfigError, importer.ImporterError)
    assert issubclass(importer.AmbiguousWrite, importer.ApiError)
    err = importer.InputError("bad amount 'x'", file="a.csv", line=7)
    assert str(err) == "a.csv, line 7: bad amount 'x'"


def test_typos_in_config_and_mappings_get_a_suggestion(tmp_path):
    import pytest
    from importer.accounts import account_rules
    from importer.errors import ConfigError
    from importer.mappings import load_mapping
    mapping = tmp_path / "mine.yaml"
    mapping.write_text("name: mine\nsignature: [Date, Amount]\ncolums:\n  date: Date\n")
    with pytest.raises(ConfigError, match=r"unknown key 'colums' \(did you mean 'columns'\?\)"):
        load_mapping(mapping)
    with pytest.raises(ConfigError, match=r"ofx_acount \(did you mean 'ofx_account'\?\)"):
        account_rules([{"ofx_acount": "1", "transaction_account_id": 5}], tmp_path / "psimport.yaml")
