"""A case whole: a report written with its money trail and first instructions (create.py),
and read back with everything that happened to it since (read.py, schemas.py)."""
