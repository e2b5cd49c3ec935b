"""A local PocketSmith stand-in: the HTTP server, its SQLite store, the demo household, and who starts one.

`embedded` starts the command line's (`--sandbox`, `psimport sandbox`); `inprocess` is
`importer.Sandbox`, the one a script or test starts for itself.
"""
