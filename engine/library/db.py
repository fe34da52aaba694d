"""The library database: one SQLite file in the user data folder holding the media catalogue,
every generation's full recipe, and the persistent job queue.

The file runs in WAL mode so the editor can read the catalogue while a worker writes job
progress, and every change is its own committed transaction: after a crash (even kill -9) the
database holds exactly what was reported before it. `synchronous=NORMAL` is durable against
a crashed process; a power cut can lose the last few commits but never corrupts the file.

The schema version lives in `PRAGMA user_version` and each step up has a migration:

- version 1 (Kinora 0.1 previews): media, folders, generations with their prompts as JSON,
  favourites, and the job queue. Searching prompts meant scanning every row's JSON.
- version 2: a plain-text `prompt_text` column on generations, backfilled from the JSON,
  an FTS5 index over it kept in step by triggers, and tags for media and generations.

A database from a newer Kinora (user_version above ours) is refused rather than guessed at.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable

from engine.errors import UserError

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000

SCHEMA_V1 = """
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES folders(id) ON DELETE CASCADE
);
CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    probe TEXT NOT NULL DEFAULT '{}',
    added REAL NOT NULL,
    folder_id INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    favourite INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX media_hash ON media(content_hash);
CREATE TABLE generations (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    tool TEXT NOT NULL,
    prompts TEXT NOT NULL DEFAULT '[]',
    plan_summary TEXT NOT NULL DEFAULT '{}',
    model_id TEXT NOT NULL DEFAULT '',
    weights_hash TEXT NOT NULL DEFAULT '',
    seeds TEXT NOT NULL DEFAULT '[]',
    settings TEXT NOT NULL DEFAULT '{}',
    preset TEXT,
    output_path TEXT NOT NULL,
    latents_path TEXT,
    parent_id INTEGER REFERENCES generations(id) ON DELETE SET NULL,
    parent_clip TEXT,
    job_id INTEGER,
    folder_id INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    favourite INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    outputs TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    crashes INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    worker_pid INTEGER
);
CREATE INDEX jobs_state ON jobs(state, id);
"""


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    _run_script(conn, """
        ALTER TABLE generations ADD COLUMN prompt_text TEXT NOT NULL DEFAULT '';
        CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);
        CREATE TABLE generation_tags (
            generation_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            PRIMARY KEY (generation_id, tag_id)
        ) WITHOUT ROWID;
        CREATE TABLE media_tags (
            media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
            PRIMARY KEY (media_id, tag_id)
        ) WITHOUT ROWID;
        CREATE INDEX generations_created ON generations(created);
    """)
    rows = conn.execute("SELECT id, prompts FROM generations").fetchall()
    conn.executemany("UPDATE generations SET prompt_text = ? WHERE id = ?",
                     [(prompt_text(_loads_list(raw)), row_id) for row_id, raw in rows])
    # An external-content index: the text is stored once (in generations), the index holds
    # only tokens; the triggers keep it in step with every insert, update and delete.
    _run_script(conn, """
        CREATE VIRTUAL TABLE generations_fts USING fts5(
            prompt_text, content='generations', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        INSERT INTO generations_fts(generations_fts) VALUES ('rebuild');
        CREATE TRIGGER generations_fts_insert AFTER INSERT ON generations BEGIN
            INSERT INTO generations_fts(rowid, prompt_text) VALUES (new.id, new.prompt_text);
        END;
        CREATE TRIGGER generations_fts_delete AFTER DELETE ON generations BEGIN
            INSERT INTO generations_fts(generations_fts, rowid, prompt_text) VALUES ('delete', old.id, old.prompt_text);
        END;
        CREATE TRIGGER generations_fts_update AFTER UPDATE OF prompt_text ON generations BEGIN
            INSERT INTO generations_fts(generations_fts, rowid, prompt_text) VALUES ('delete', old.id, old.prompt_text);
            INSERT INTO generations_fts(rowid, prompt_text) VALUES (new.id, new.prompt_text);
        END;
    """)


# from-version -> migration to from-version + 1; each runs inside one transaction
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}


def prompt_text(prompts: list) -> str:
    """The searchable text of a generation's prompts (a list of {"text", "negative", ...} or strings)."""
    parts = []
    for prompt in prompts:
        text = prompt.get("text", "") if isinstance(prompt, dict) else str(prompt)
        if text:
            parts.append(text)
    return "\n".join(parts)


def _loads_list(raw: str) -> list:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return []
    return value if isinstance(value, list) else []


def library_path() -> str:
    from engine.paths import data_dir

    return os.path.join(data_dir(), "library.sqlite")


def connect(path: str | None = None) -> sqlite3.Connection:
    """Open (creating or upgrading as needed) the library database.

    The connection is in autocommit mode: each statement commits on its own, and code that
    needs several statements to land together uses `transaction(conn)`.
    """
    path = path or library_path()
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.row_factory = sqlite3.Row
        _upgrade(conn, path)
    except sqlite3.DatabaseError as error:
        raise UserError(f"library database {path} cannot be opened ({error}); move it aside and "
                        "Kinora will start a new one") from None
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _upgrade(conn: sqlite3.Connection, path: str) -> None:
    with transaction(conn):
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise UserError(f"library database {path} was written by a newer Kinora (schema {version}, this "
                            f"version knows up to {SCHEMA_VERSION}); update Kinora or move the file aside")
        if version == 0:
            _run_script(conn, SCHEMA_V1)
            version = 1
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
        conn.execute(f"PRAGMA user_version = {version}")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction (executescript would commit it first)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                conn.execute(statement)
            statement = ""


class transaction:
    """`with transaction(conn):` runs the block as one immediate transaction (taking the write
    lock at once, so two writers never deadlock upgrading a read lock), committed on success."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, value, traceback) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
