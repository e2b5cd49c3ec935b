"""Write: a plan's creates sent to PocketSmith exactly once, with a journal that makes resume and undo possible.

`journal` keeps each batch and row's state in SQLite, `writer` sends a batch concurrently and
undoes one, `others` notices another import creating the same rows before more is sent, and
`batches` runs whole imports and undos (plan, confirm, write, report).
"""
