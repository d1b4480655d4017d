"""Django's SQLite backend, which makes the database file's folder (VAR_DIR on the embedded
defaults) when it first connects: whichever process comes first, nothing else has to."""

from pathlib import Path

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        database = conn_params["database"]
        if not self.creation.is_in_memory_db(database):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return super().get_new_connection(conn_params)
