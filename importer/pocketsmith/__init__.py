"""The PocketSmith API v2: what psimport reads there and writes, online (the client) or offline (an export).

`client` (PocketSmith, over httpx), `models` (its typed objects), `wire` (JSON with Decimal money),
`export` (an `--existing` file read like the client), `protocol` (what the pipeline and writer need).
"""
