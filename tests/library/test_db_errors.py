"""The library database when another process holds it, when the disk is full, when it is
damaged: one message that says what is wrong, a wait for locks, and never advice that would
throw the library and the queue away."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from engine.cli import main
from engine.errors import UserError
from engine.jobs.queue import JobQueue
from engine.library import db

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DISCARDING = ("move it aside", "start a new one", "delete")

# Holds the database as a Kinora worker would, plus an exclusive SQLite lock, until stdin closes.
HOLDER = r"""
import sqlite3, sys
sys.path.insert(0, sys.argv[2])
from engine.jobs.worker import WorkerLock
lock = WorkerLock(sys.argv[1])
lock.acquire()
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode = EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO tags(name) VALUES ('held')")
print("holding", flush=True)
sys.stdin.read()
"""


def _library_with_a_job() -> str:
    path = db.library_path()
    queue = JobQueue(path)
    queue.submit("generate", {"prompt": "a fox in the snow"})
    queue.close()
    return path


def test_a_library_locked_by_another_process_names_it_and_keeps_the_queue(monkeypatch, capsys):
    path = _library_with_a_job()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path, REPO], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        monkeypatch.setattr(db, "LOCK_WAIT_S", 1.5)  # the real wait is 30 s; the message is the same
        for argv in (["jobs", "list"], ["jobs", "cancel", "1"], ["jobs", "submit", "generate", "--prompt", "x", "-o", "x.mp4"]):
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "is locked by another process" in err, err
            assert f"process {holder.pid}" in err and "jobs list" not in err.split("process")[0]
            assert "unchanged" in err and not any(advice in err for advice in DISCARDING)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert main(["jobs", "list", "--json"]) == 0
    assert '"prompt": "a fox in the snow"' in capsys.readouterr().out


def test_opening_waits_for_a_lock_that_is_let_go():
    path = _library_with_a_job()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO tags(name) VALUES ('held')")
    with pytest.raises(UserError, match="locked by another process .* stayed locked"):
        db.connect(path, lock_wait_s=0.3)
    release = threading.Timer(0.5, holder.close)  # rolls back and lets go while connect waits
    release.start()
    conn = db.connect(path, lock_wait_s=60)
    release.join()
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0
    conn.close()


def test_a_full_disk_names_the_folder_and_its_free_space():
    path = _library_with_a_job()
    conn = db.connect(path)
    # SQLite reports SQLITE_FULL, as on a full disk, once the file may not grow past its pages
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as caught:
        JobQueue(conn=conn).submit("generate", {"prompt": "x" * 200_000})
    conn.close()
    message = str(db.database_error(path, caught.value))
    assert f"the disk holding {os.path.dirname(path)} is full" in message and "MiB free" in message
    assert "unchanged" in message and not any(advice in message for advice in DISCARDING)
    queue = JobQueue(path)
    assert [job.params["prompt"] for job in queue.list()] == ["a fox in the snow"]
    queue.close()


def test_a_damaged_library_is_kept_as_it_is(capsys):
    path = db.library_path()
    with open(path, "wb") as handle:
        handle.write(b"this is not a database, but it is the user's file" * 100)
    before = open(path, "rb").read()  # noqa: SIM115 - read once
    assert main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is damaged" in err and "has not changed it" in err
    assert open(path, "rb").read() == before  # noqa: SIM115 - read once
