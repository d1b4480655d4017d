"""The SQLite backend of the embedded defaults (base.py)."""
