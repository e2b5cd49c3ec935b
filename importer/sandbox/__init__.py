"""A local PocketSmith stand-in: the HTTP server, its SQLite store, the demo household and the embedded one."""
