"""The decision log's storage: the table and the writer that drains the engine's bounded
buffer into it."""
