"""Cache schema and its forward migrations, versioned by ``PRAGMA user_version``.

Each entry of ``MIGRATIONS`` moves the database from version ``i`` to ``i + 1``.
Migrations only ever append: a released entry is never edited, a change is a new
entry. All times are stored as UTC text in one fixed-width form
(``2015-07-14T10:54:13.000000Z``), so text order is time order; money is
stored as Decimal text.
"""

from __future__ import annotations

from typing import Final

_V1: Final = (
    # One row per pair of numbers (ours, theirs). ``our_number`` is '' when ClickSend
    # picked a shared number that we never learned. The summary columns are kept by
    # the messages triggers, so listing 5,000 conversations is one indexed scan.
    """
    CREATE TABLE conversations (
        id               INTEGER PRIMARY KEY,
        our_number       TEXT NOT NULL DEFAULT '',
        their_number     TEXT NOT NULL,
        last_activity    TEXT,
        last_message_row INTEGER,
        unread_count     INTEGER NOT NULL DEFAULT 0,
        marked_unread    INTEGER NOT NULL DEFAULT 0,
        done             INTEGER NOT NULL DEFAULT 0,
        UNIQUE (our_number, their_number)
    )
    """,
    "CREATE INDEX conversations_by_activity ON conversations (last_activity DESC)",
    """
    CREATE INDEX conversations_by_unread ON conversations
        ((unread_count > 0 OR marked_unread) DESC, last_activity DESC)
    """,
    "CREATE INDEX conversations_by_their_number ON conversations (their_number)",
    # Outbound and inbound messages share one table, so a thread, a search and the
    # conversation summary read one place. ``message_id`` is ClickSend's id (NULL until
    # known); ``client_ref`` is the outbox reference of a message that smsdesk sent.
    """
    CREATE TABLE messages (
        id                  INTEGER PRIMARY KEY,
        direction           TEXT NOT NULL CHECK (direction IN ('out', 'in')),
        conversation_id     INTEGER NOT NULL REFERENCES conversations (id),
        message_id          TEXT,
        client_ref          TEXT UNIQUE,
        our_number          TEXT NOT NULL DEFAULT '',
        their_number        TEXT NOT NULL,
        body                TEXT NOT NULL DEFAULT '',
        status              TEXT NOT NULL,
        status_code         TEXT,
        status_text         TEXT,
        error_code          TEXT,
        error_text          TEXT,
        custom_string       TEXT,
        ts                  TEXT NOT NULL,
        schedule_at         TEXT,
        parts               INTEGER,
        price               TEXT,
        country             TEXT,
        carrier             TEXT,
        reply_to_message_id TEXT,
        is_read             INTEGER NOT NULL DEFAULT 1,
        opt_out             TEXT,
        relay_status        TEXT,
        origin              TEXT,
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL,
        UNIQUE (direction, message_id)
    )
    """,
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, ts)",
    "CREATE INDEX messages_by_their_number ON messages (their_number, ts)",
    "CREATE INDEX messages_by_ts ON messages (ts)",
    "CREATE INDEX messages_by_status ON messages (status, ts)",
    "CREATE INDEX messages_by_relay ON messages (relay_status) WHERE relay_status IS NOT NULL",
    # External-content full-text index over bodies; the triggers below keep it current.
    """
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        body, content = 'messages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    # SET expressions read the row as it was before the update, so last_message_row and
    # last_activity are compared against the same old value.
    """
    CREATE TRIGGER messages_after_insert AFTER INSERT ON messages BEGIN
        UPDATE conversations SET
            last_message_row = CASE WHEN last_activity IS NULL OR NEW.ts >= last_activity
                                    THEN NEW.id ELSE last_message_row END,
            last_activity = CASE WHEN last_activity IS NULL OR NEW.ts >= last_activity
                                 THEN NEW.ts ELSE last_activity END,
            unread_count = unread_count + (NEW.direction = 'in' AND NEW.is_read = 0),
            done = CASE WHEN NEW.direction = 'in' AND NEW.is_read = 0 THEN 0 ELSE done END
        WHERE id = NEW.conversation_id;
        INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
    END
    """,
    """
    CREATE TRIGGER messages_after_body_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
        INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
    END
    """,
    """
    CREATE TRIGGER messages_after_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
    END
    """,
    # Every receipt ever received, unique per (message, status code). ``applied_at`` stays
    # NULL while no message matches it yet, which happens to a receipt that overtook its
    # send response or one for a message sent elsewhere. It is applied when the message
    # row appears.
    """
    CREATE TABLE receipts (
        id            INTEGER PRIMARY KEY,
        message_id    TEXT NOT NULL,
        status_code   TEXT NOT NULL DEFAULT '',
        status        TEXT,
        status_text   TEXT,
        error_code    TEXT,
        error_text    TEXT,
        custom_string TEXT,
        ts            TEXT,
        received_at   TEXT NOT NULL,
        applied_at    TEXT,
        UNIQUE (message_id, status_code)
    )
    """,
    "CREATE INDEX receipts_unapplied ON receipts (message_id) WHERE applied_at IS NULL",
    # The outbox: one row per outbound message that a send accepted. A row stays
    # 'pending' until ClickSend's result for it is recorded; ``request`` is the JSON of
    # the message as sent, so reconciliation can resend it unchanged.
    """
    CREATE TABLE outbox (
        client_ref      TEXT PRIMARY KEY,
        message_row     INTEGER NOT NULL UNIQUE REFERENCES messages (id),
        batch_id        TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'done')),
        request         TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_attempt_at TEXT,
        last_error      TEXT,
        created_at      TEXT NOT NULL
    )
    """,
    "CREATE INDEX outbox_pending ON outbox (created_at) WHERE state = 'pending'",
    """
    CREATE TABLE opt_outs (
        number       TEXT PRIMARY KEY,
        keyword      TEXT NOT NULL,
        opted_out_at TEXT NOT NULL,
        message_row  INTEGER REFERENCES messages (id)
    )
    """,
    """
    CREATE TABLE templates (
        template_id INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        body        TEXT NOT NULL,
        synced_at   TEXT NOT NULL
    )
    """,
    # Slack side: one thread per conversation, the post of each relayed or sent message
    # (so a receipt can edit it), and the event ids already handled (Slack retries).
    """
    CREATE TABLE slack_threads (
        conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
        channel         TEXT NOT NULL,
        thread_ts       TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (channel, thread_ts)
    )
    """,
    """
    CREATE TABLE slack_posts (
        message_row INTEGER PRIMARY KEY REFERENCES messages (id),
        channel     TEXT NOT NULL,
        ts          TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE slack_events (
        event_id    TEXT PRIMARY KEY,
        received_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE sync_cursors (
        name       TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
)

# Version 2: who made a Slack post ('bot' posts can be edited, 'user' posts only get a
# reaction), and why relaying an inbound message to Slack failed.
_V2: Final = (
    "ALTER TABLE slack_posts ADD COLUMN kind TEXT NOT NULL DEFAULT 'bot'",
    "CREATE INDEX slack_posts_by_post ON slack_posts (channel, ts)",
    "ALTER TABLE messages ADD COLUMN relay_error TEXT",
)

# Version 3: the full-text index and the conversation summaries are updated once per
# batch by the store (core.store._index_new_messages) instead of by a trigger per row.
# A per-row trigger made a 100,000-row history import several times slower.
# The two indexes dropped here slowed every insert more than they sped up the queries
# that used them, which now go through conversations or the ts index.
_V3: Final = (
    "DROP TRIGGER messages_after_insert",
    "DROP INDEX messages_by_their_number",
    "DROP INDEX messages_by_status",
)

# Version 4: the full-text index is keyed by ``sort_key`` = (Unix seconds << 31) | id
# instead of by id, so FTS5 returns matches newest first on its own and a search stops
# after ``limit`` hits instead of fetching and sorting every match. ClickSend's times are
# whole seconds; within one second rows keep id order. The key fits in 63 bits while
# seconds < 2**32 (the year 2106) and ids < 2**31.
def sort_key_sql(ts: str, row_id: str) -> str:
    """Return the SQL for a message's ``sort_key`` from SQL for its time and its row id."""
    return f"((unixepoch({ts}) << 31) | {row_id})"


_V4: Final = (
    "ALTER TABLE messages ADD COLUMN sort_key INTEGER",
    f"UPDATE messages SET sort_key = {sort_key_sql('ts', 'id')}",
    "CREATE UNIQUE INDEX messages_by_sort_key ON messages (sort_key)",
    "DROP TRIGGER messages_after_body_update",
    "DROP TRIGGER messages_after_delete",
    "DROP TABLE messages_fts",
    """
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        body, content = 'messages', content_rowid = 'sort_key',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
    """
    CREATE TRIGGER messages_after_body_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.sort_key, OLD.body);
        INSERT INTO messages_fts (rowid, body) VALUES (NEW.sort_key, NEW.body);
    END
    """,
    """
    CREATE TRIGGER messages_after_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.sort_key, OLD.body);
    END
    """,
)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION: Final = len(MIGRATIONS)
