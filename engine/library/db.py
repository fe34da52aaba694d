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
- version 3: a `name` column on media and generations: the name a user gave an entry in the
  Library ('' shows the prompt or the file name, as before).

A database from a newer Kinora (user_version above ours) is refused rather than guessed at.

The database holds the user's library and queue, so no error here ever advises starting a new
one: a lock held by another process is waited for (SQLite's busy handler, then a few retries
with growing pauses) and then named, with the Kinora worker's process id when its lock file
says; a full disk names the folder and its free space; only a damaged file gets recovery
advice, and even then the file is kept (`database_error`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from engine.errors import UserError

SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 10_000  # per statement: SQLite's busy handler waits this long for a lock
LOCK_WAIT_S = 30.0  # opening retries with growing pauses for this long before naming the holder
T = TypeVar("T")
WORKER_LOCK_SUFFIX = ".worker-lock"  # engine/jobs/worker.py WorkerLock: holds the worker's process id

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


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    _run_script(conn, """
        ALTER TABLE generations ADD COLUMN name TEXT NOT NULL DEFAULT '';
        ALTER TABLE media ADD COLUMN name TEXT NOT NULL DEFAULT '';
    """)


# from-version -> migration to from-version + 1; each runs inside one transaction
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


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


def connect(path: str | None = None, *, lock_wait_s: float | None = None) -> sqlite3.Connection:
    """Open (creating or upgrading as needed) the library database.

    The connection is in autocommit mode: each statement commits on its own, and code that
    needs several statements to land together uses `transaction(conn)`. While another process
    holds the database locked, opening waits up to `lock_wait_s` (LOCK_WAIT_S) with growing
    pauses; every failure is one UserError from `database_error`.
    """
    path = path or library_path()
    wait_s = LOCK_WAIT_S if lock_wait_s is None else lock_wait_s
    started = time.monotonic()
    pause = 0.5
    while True:
        remaining_ms = int(max(0.0, wait_s - (time.monotonic() - started)) * 1000)
        try:
            return _open(path, min(BUSY_TIMEOUT_MS, remaining_ms))
        except sqlite3.Error as error:
            waited = time.monotonic() - started
            if is_locked(error) and waited + pause < wait_s:
                time.sleep(pause)  # SQLite gave up; another try once the holder may have finished
                pause = min(pause * 2, 4.0)
                continue
            raise database_error(path, error, waited_s=waited) from None


def retry_while_locked(path: str, work: Callable[[], T], wait_s: float | None = None) -> T:
    """Run `work` (one statement or one whole transaction), again with growing pauses while
    another process holds the database locked past SQLite's own busy wait, for up to `wait_s`
    (LOCK_WAIT_S). A running job's progress and state changes go through here, so a backup
    tool holding the file for a while delays them instead of failing the job."""
    wait_s = LOCK_WAIT_S if wait_s is None else wait_s
    started = time.monotonic()
    pause = 0.5
    while True:
        try:
            return work()
        except sqlite3.Error as error:
            waited = time.monotonic() - started
            if is_locked(error) and waited + pause < wait_s:
                time.sleep(pause)
                pause = min(pause * 2, 4.0)
                continue
            raise database_error(path, error, waited_s=waited) from None


def _open(path: str, busy_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.row_factory = sqlite3.Row
        _upgrade(conn, path)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except BaseException:
        conn.close()
        raise
    return conn


def is_locked(error: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (any extended code): another connection holds the lock."""
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in (5, 6) or "locked" in str(error)


def database_error(path: str, error: sqlite3.Error, waited_s: float | None = None) -> UserError:
    """One clear message for a database failure, saying what is wrong and what to do. None of
    them advises starting a new database: that would throw away the library and the queue."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    folder = os.path.dirname(os.path.abspath(path))
    unchanged = "the library and the queue are unchanged"
    if is_locked(error):
        waited = f"for {waited_s:.0f} s" if waited_s is not None else f"for over {BUSY_TIMEOUT_MS // 1000} s"
        return UserError(f"library database {path} is locked by {_lock_holder(path)} and stayed locked {waited}; "
                         f"{unchanged}. Let that process finish (or stop it) and run the command again")
    if code == 13 or "disk is full" in str(error):  # SQLITE_FULL
        return UserError(f"cannot write library database {path}: the disk holding {folder} is full "
                         f"({_free_space(folder)} free); {unchanged}. Free some space there and run the command again")
    if code == 10:  # SQLITE_IOERR: the OS refused a read or write (full, failing or unmounted disk, size limit)
        return UserError(f"cannot read or write library database {path} ({error}); {unchanged}. Check the disk "
                         f"holding {folder}: its free space ({_free_space(folder)}) and that it is still there")
    if code in (8, 14, 23):  # SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_AUTH
        return UserError(f"cannot open library database {path} ({error}); check that {folder} exists and that "
                         "you may read and write there")
    if code in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
        return UserError(f"library database {path} is damaged ({error}); Kinora has not changed it. Keep a copy: "
                         "`sqlite3 FILE .recover` often saves its contents; renaming it makes Kinora start an "
                         "empty library beside it")
    return UserError(f"library database {path}: {error}; {unchanged}")


def _lock_holder(path: str) -> str:
    """Who holds the database, as far as can be known: the worker's lock file names its process."""
    try:
        with open(path + WORKER_LOCK_SUFFIX, encoding="utf-8") as handle:
            pid = int(handle.read(32).strip())
        if os.name != "nt":  # on Windows os.kill would end the process, not probe it
            os.kill(pid, 0)  # raises when no such process is alive
    except PermissionError:
        pass  # alive, but another user's
    except (OSError, ValueError):
        return "another process (another Kinora window or command, or a backup or sync tool)"
    command = ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read(400).replace(b"\0", b" ").decode(errors="replace").split()
        command = " ".join(words)[:80]  # one line, however the process was started
    except OSError:
        pass
    return f"another process (the Kinora worker, process {pid}{': ' + command if command else ''}, is running)"


def _free_space(folder: str) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "unknown space"
    return f"{free / 2**20:.1f} MiB"


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
