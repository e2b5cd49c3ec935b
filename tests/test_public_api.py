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

