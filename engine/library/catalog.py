"""The catalogue: media files and every generation's full recipe, with folders, favourites,
tags and full-text search over prompts. Storage and migrations are in engine/library/db.py.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from engine.errors import MediaError, UserError
from engine.library.db import connect, prompt_text, transaction


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """What is needed to make an output again, or to extend, remix, loop or blend it."""

    tool: str
    output_path: str
    prompts: list = field(default_factory=list)  # [{"start", "stop", "text", "negative"}]
    plan_summary: dict = field(default_factory=dict)
    model_id: str = ""
    weights_hash: str = ""
    seeds: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    preset: str | None = None
    latents_path: str | None = None
    parent_id: int | None = None  # the generation this one extends/remixes/loops/blends
    parent_clip: str | None = None  # the source clip's path when it was not a library generation
    job_id: int | None = None


class Library:
    """The catalogue over one database connection (thread-safe only through one thread at a time)."""

    def __init__(self, path: str | None = None, conn: sqlite3.Connection | None = None) -> None:
        self.conn = conn or connect(path)

    def close(self) -> None:
        self.conn.close()

    # -- media -------------------------------------------------------------------------------

    def add_media(self, path: str, probe: dict | None = None, folder_id: int | None = None) -> int:
        """Catalogue a file (or refresh its entry): size, content hash and what probing found
        (probed here, in a child process, unless the caller already has the MediaInfo JSON)."""
        from engine.fsutil import content_hash

        path = os.path.abspath(path)
        if probe is None:
            from engine.media.probe import probe as probe_file

            probe = probe_file(path).to_json()
        try:
            size = os.path.getsize(path)
        except OSError as error:
            raise MediaError(f"{path} cannot be added to the library: {error.strerror or error}") from None
        digest = content_hash(path)
        self.conn.execute(
            "INSERT INTO media(path, size, content_hash, probe, added, folder_id) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET size = excluded.size, content_hash = excluded.content_hash, "
            "probe = excluded.probe",
            (path, size, digest, json.dumps(probe or {}), time.time(), folder_id))
        return self.conn.execute("SELECT id FROM media WHERE path = ?", (path,)).fetchone()[0]

    def media(self, media_id: int) -> dict:
        row = self.conn.execute("SELECT * FROM media WHERE id = ?", (media_id,)).fetchone()
        if row is None:
            raise UserError(f"no media {media_id} in the library; `kinora library list` shows what there is")
        return _media_dict(row, self._tags("media", media_id))

    def media_with_hash(self, digest: str) -> list[dict]:
        return [_media_dict(row, []) for row in
                self.conn.execute("SELECT * FROM media WHERE content_hash = ? ORDER BY id", (digest,))]

    def list_media(self, limit: int = 100) -> list[dict]:
        return [_media_dict(row, []) for row in
                self.conn.execute("SELECT * FROM media ORDER BY id DESC LIMIT ?", (limit,))]

    # -- generations -------------------------------------------------------------------------

    def add_generation(self, record: GenerationRecord, created: float | None = None) -> int:
        cursor = self.conn.execute(
            "INSERT INTO generations(created, tool, prompts, prompt_text, plan_summary, model_id, weights_hash, "
            "seeds, settings, preset, output_path, latents_path, parent_id, parent_clip, job_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _generation_row(record, created))
        return cursor.lastrowid

    def add_generations(self, records: list[GenerationRecord], created: float | None = None) -> None:
        """Many at once in one transaction (imports, benchmarks)."""
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO generations(created, tool, prompts, prompt_text, plan_summary, model_id, weights_hash, "
                "seeds, settings, preset, output_path, latents_path, parent_id, parent_clip, job_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_generation_row(r, created) for r in records])

    def generation(self, generation_id: int) -> dict:
        row = self.conn.execute("SELECT * FROM generations WHERE id = ?", (generation_id,)).fetchone()
        if row is None:
            raise UserError(f"no generation {generation_id} in the library; "
                            "`kinora library list` shows what there is")
        return _generation_dict(row, self._tags("generation", generation_id))

    def generation_for_output(self, output_path: str) -> dict | None:
        """The latest generation that wrote this file (extend/remix/loop/blend name it as parent)."""
        row = self.conn.execute("SELECT * FROM generations WHERE output_path = ? ORDER BY id DESC LIMIT 1",
                                (os.path.abspath(output_path),)).fetchone()
        return None if row is None else _generation_dict(row, [])

    def list_generations(self, limit: int = 50, *, favourites: bool = False, folder_id: int | None = None,
                         tag: str | None = None) -> list[dict]:
        where, args = [], []
        if favourites:
            where.append("g.favourite = 1")
        if folder_id is not None:
            where.append("g.folder_id = ?")
            args.append(folder_id)
        if tag is not None:
            where.append("g.id IN (SELECT generation_id FROM generation_tags JOIN tags ON tags.id = tag_id "
                         "WHERE tags.name = ?)")
            args.append(tag)
        sql = "SELECT g.* FROM generations g" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.conn.execute(sql + " ORDER BY g.id DESC LIMIT ?", (*args, limit))
        return [_generation_dict(row, []) for row in rows]

    def search(self, text: str, limit: int = 50) -> list[dict]:
        """Generations whose prompts hold every word of `text` (prefix match on the last word),
        best match first."""
        query = fts_query(text)
        if not query:
            return []
        rows = self.conn.execute(
            "SELECT g.* FROM generations_fts JOIN generations g ON g.id = generations_fts.rowid "
            "WHERE generations_fts MATCH ? ORDER BY rank LIMIT ?", (query, limit))
        return [_generation_dict(row, []) for row in rows]

    # -- organising --------------------------------------------------------------------------

    def set_favourite(self, kind: str, item_id: int, favourite: bool = True) -> None:
        self.conn.execute(f"UPDATE {_table(kind)} SET favourite = ? WHERE id = ?", (int(favourite), item_id))

    def rename(self, kind: str, item_id: int, name: str) -> None:
        """The name the Library shows for an entry ('' goes back to its prompt or file name)."""
        name = name.strip()
        if len(name) > 500:
            raise UserError(f"a library name is {len(name)} characters long; keep it under 500")
        self.conn.execute(f"UPDATE {_table(kind)} SET name = ? WHERE id = ?", (name, item_id))

    def remove(self, kind: str, item_id: int) -> dict:
        """Take an entry out of the catalogue; returns its row and tags as they were, so
        `put_back` can restore it exactly (same id: generations naming it as parent keep it)."""
        table = _table(kind)
        row = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise UserError(f"no {kind} {item_id} in the library; `kinora library list` shows what there is")
        removed = {"kind": kind, "row": dict(row), "tags": self._tags(kind, item_id)}
        if kind == "generation":  # children keep pointing at it after an undo: remember them
            removed["children"] = [r[0] for r in self.conn.execute(
                "SELECT id FROM generations WHERE parent_id = ?", (item_id,))]
        with transaction(self.conn):
            self.conn.execute(f"DELETE FROM {table} WHERE id = ?", (item_id,))
        return removed

    def put_back(self, removed: dict) -> None:
        """Restore an entry `remove` returned, with its id, tags and children links."""
        kind, row = removed["kind"], dict(removed["row"])
        table = _table(kind)
        columns = ", ".join(row)
        with transaction(self.conn):
            self.conn.execute(f"INSERT INTO {table}({columns}) VALUES ({', '.join('?' * len(row))})",
                              tuple(row.values()))
            for child in removed.get("children", []):
                self.conn.execute("UPDATE generations SET parent_id = ? WHERE id = ?", (row["id"], child))
        for tag in removed["tags"]:
            self.tag(kind, row["id"], tag)

    def add_folder(self, name: str, parent_id: int | None = None) -> int:
        return self.conn.execute("INSERT INTO folders(name, parent_id) VALUES (?, ?)", (name, parent_id)).lastrowid

    def move_to_folder(self, kind: str, item_id: int, folder_id: int | None) -> None:
        self.conn.execute(f"UPDATE {_table(kind)} SET folder_id = ? WHERE id = ?", (folder_id, item_id))

    def folders(self) -> list[dict]:
        return [dict(row) for row in self.conn.execute("SELECT * FROM folders ORDER BY name")]

    def tag(self, kind: str, item_id: int, name: str) -> None:
        _table(kind)
        name = name.strip()
        if not name:
            raise UserError("a tag needs a name")
        with transaction(self.conn):
            self.conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (name,))
            tag_id = self.conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()[0]
            self.conn.execute(f"INSERT OR IGNORE INTO {kind}_tags({kind}_id, tag_id) VALUES (?, ?)", (item_id, tag_id))

    def untag(self, kind: str, item_id: int, name: str) -> None:
        _table(kind)
        self.conn.execute(f"DELETE FROM {kind}_tags WHERE {kind}_id = ? AND tag_id = "
                          "(SELECT id FROM tags WHERE name = ?)", (item_id, name))

    def _tags(self, kind: str, item_id: int) -> list[str]:
        return [row[0] for row in self.conn.execute(
            f"SELECT tags.name FROM {kind}_tags JOIN tags ON tags.id = tag_id WHERE {kind}_id = ? ORDER BY tags.name",
            (item_id,))]


_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """A safe FTS5 query from what a user typed: every word must appear, the last one as a
    prefix (so results appear while typing). Quoting each word keeps FTS syntax (AND, *, ")
    in the user's text from being read as operators."""
    words = _WORD.findall(text)
    if not words:
        return ""
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _table(kind: str) -> str:
    if kind not in ("media", "generation"):
        raise ValueError(f"kind must be 'media' or 'generation', got {kind!r}")
    return "media" if kind == "media" else "generations"


def _generation_row(r: GenerationRecord, created: float | None) -> tuple:
    return (time.time() if created is None else created, r.tool, json.dumps(r.prompts), prompt_text(r.prompts),
            json.dumps(r.plan_summary), r.model_id, r.weights_hash, json.dumps(r.seeds), json.dumps(r.settings),
            r.preset, r.output_path, r.latents_path, r.parent_id, r.parent_clip, r.job_id)


def _generation_dict(row: sqlite3.Row, tags: list[str]) -> dict[str, Any]:
    d = dict(row)
    for key in ("prompts", "plan_summary", "seeds", "settings"):
        d[key] = json.loads(d[key])
    d["favourite"] = bool(d["favourite"])
    d["tags"] = tags
    return d


def _media_dict(row: sqlite3.Row, tags: list[str]) -> dict[str, Any]:
    d = dict(row)
    d["probe"] = json.loads(d["probe"])
    d["favourite"] = bool(d["favourite"])
    d["tags"] = tags
    return d
