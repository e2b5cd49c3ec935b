"""Write: a plan's creates sent to PocketSmith exactly once, with a journal that makes resume and undo possible.

`journal` keeps each batch and row's state in SQLite, `writer` sends a batch concurrently and
undoes one, and `batches` runs whole imports and undos (plan, confirm, write, report).
"""
