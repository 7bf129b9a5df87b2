"""Keep the sandbox state in an SQLite file so it survives a restart.

The state is small, so it is stored whole, as one JSON document, in a
one-row table. Each save replaces it inside a transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS sandbox_state (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL)"


def load_state(path: Path) -> dict[str, Any] | None:
    """Return the saved state, or None when the file does not exist yet."""
    if not path.exists():
        return None
    connection = sqlite3.connect(path)
    try:
        connection.execute(_SCHEMA)
        row = connection.execute("SELECT data FROM sandbox_state WHERE id = 1").fetchone()
    finally:
        connection.close()
    return None if row is None else json.loads(row[0])


def save_state(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data)
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute(_SCHEMA)
            connection.execute(
                "INSERT INTO sandbox_state (id, data) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (text,),
            )
    finally:
        connection.close()
