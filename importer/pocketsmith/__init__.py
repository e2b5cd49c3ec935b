"""The PocketSmith API v2: the client (client.py), its typed objects (models.py) and exact-money JSON (wire.py)."""
