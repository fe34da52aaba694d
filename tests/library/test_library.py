"""The library database: schema, migration from version 1, catalogue, full-text search, CLI."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from engine.cli import main
from engine.errors import UserError
from engine.fsutil import content_hash
from engine.library import db
from engine.library.catalog import GenerationRecord, Library, fts_query

PROMPTS = ["a red fox runs through snow", "a quiet harbour at dawn, boats rocking",
           "the fox sleeps under a pine tree", "neon city street in the rain"]


def _record(i: int, text: str, **fields) -> GenerationRecord:
    return GenerationRecord(tool="generate", output_path=f"/out/gen-{i}.mp4",
                            prompts=[{"start": 0, "stop": 49, "text": text, "negative": "blurry"}],
                            seeds=[i], settings={"steps": 8}, model_id="tiny", **fields)


def test_new_database_is_current_and_in_wal_mode(tmp_path):
    conn = db.connect(str(tmp_path / "library.sqlite"))
    assert db.schema_version(conn) == db.SCHEMA_VERSION == 3
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_library_lives_in_the_user_data_folder():
    library = Library()
    library.close()
    assert os.path.isfile(os.path.join(os.environ["KINORA_DATA_DIR"], "library.sqlite"))


def test_migration_from_version_1_keeps_everything_and_backfills_search(tmp_path):
    path = str(tmp_path / "old.sqlite")
    old = sqlite3.connect(path)
    old.executescript(db.SCHEMA_V1)  # the frozen version 1 schema, as Kinora 0.1 previews wrote it
    for i, text in enumerate(PROMPTS, 1):
        old.execute("INSERT INTO generations(created, tool, prompts, output_path, seeds, favourite) "
                    "VALUES (?, 'generate', ?, ?, ?, ?)",
                    (1000.0 + i, json.dumps([{"text": text, "negative": ""}]), f"/out/{i}.mp4", json.dumps([i]),
                     int(i == 2)))
    old.execute("INSERT INTO jobs(kind, params, state, created) VALUES ('generate', '{\"prompt\": \"x\"}', "
                "'queued', 5.0)")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()

    library = Library(path)
    assert db.schema_version(library.conn) == 3
    rows = library.list_generations()
    assert sorted(r["prompt_text"] for r in rows) == sorted(PROMPTS)
    assert [r["id"] for r in library.search("fox")] and {r["id"] for r in library.search("fox")} == {1, 3}
    assert library.generation(2)["favourite"] is True
    assert library.generation(2)["seeds"] == [2]
    queued = library.conn.execute("SELECT kind, state, params FROM jobs").fetchall()
    assert [tuple(r) for r in queued] == [("generate", "queued", '{"prompt": "x"}')]
    # Version 2 features work on the migrated data, and new rows are indexed by the triggers.
    library.tag("generation", 1, "animals")
    assert [r["id"] for r in library.list_generations(tag="animals")] == [1]
    new_id = library.add_generation(_record(9, "a fox cub in the rain"))
    assert {r["id"] for r in library.search("fox")} == {1, 3, new_id}
    library.close()
    assert db.schema_version(db.connect(path)) == 3  # opening again migrates nothing twice


def test_database_from_a_newer_kinora_is_refused(tmp_path):
    path = str(tmp_path / "future.sqlite")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserError, match="newer Kinora"):
        db.connect(path)


def test_search_ranks_words_prefixes_and_ignores_query_syntax(tmp_path):
    library = Library(str(tmp_path / "l.sqlite"))
    ids = [library.add_generation(_record(i, text)) for i, text in enumerate(PROMPTS)]
    assert [r["id"] for r in library.search("harbour dawn")] == [ids[1]]
    assert [r["id"] for r in library.search("harb")] == [ids[1]]  # the last word is a prefix
    assert {r["id"] for r in library.search("FOX")} == {ids[0], ids[2]}
    assert library.search("fox AND") == []  # "AND" is a word here, not an operator
    assert library.search('"fox* (') != [] and library.search("NEAR(") == []
    assert library.search("  ") == [] and fts_query("") == ""
    # Deleting and editing keep the index in step.
    library.conn.execute("DELETE FROM generations WHERE id = ?", (ids[0],))
    assert {r["id"] for r in library.search("fox")} == {ids[2]}
    library.conn.execute("UPDATE generations SET prompt_text = 'a harbour at night' WHERE id = ?", (ids[2],))
    assert library.search("fox") == [] and {r["id"] for r in library.search("harbour")} == {ids[1], ids[2]}


def test_generation_recipe_folders_favourites_and_tags(tmp_path):
    library = Library(str(tmp_path / "l.sqlite"))
    parent = library.add_generation(_record(1, "a fox", weights_hash="ab12", latents_path="/out/gen-1.latents"))
    child = library.add_generation(GenerationRecord(tool="extend", output_path="/out/ext.mp4", parent_id=parent,
                                                    prompts=[{"text": "the fox keeps running"}],
                                                    plan_summary={"num_frames": 49}, preset="cinematic"))
    shown = library.generation(child)
    assert (shown["tool"], shown["parent_id"], shown["preset"], shown["plan_summary"]) == \
        ("extend", parent, "cinematic", {"num_frames": 49})
    assert library.generation(parent)["latents_path"] == "/out/gen-1.latents"
    folder = library.add_folder("fox shots")
    library.move_to_folder("generation", child, folder)
    library.set_favourite("generation", parent)
    library.tag("generation", parent, "Keeper")
    library.tag("generation", parent, "keeper")  # tags ignore case
    assert library.generation(parent)["tags"] == ["Keeper"]
    assert [r["id"] for r in library.list_generations(folder_id=folder)] == [child]
    assert [r["id"] for r in library.list_generations(favourites=True)] == [parent]
    library.untag("generation", parent, "Keeper")
    assert library.generation(parent)["tags"] == []
    with pytest.raises(UserError, match="no generation 999"):
        library.generation(999)


def test_media_is_catalogued_with_size_and_content_hash(tmp_path):
    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(3 * 2**20 + 17))
    library = Library(str(tmp_path / "l.sqlite"))
    media_id = library.add_media(str(clip), probe={"kind": "video", "num_frames": 48})
    row = library.media(media_id)
    assert (row["size"], row["content_hash"], row["probe"]) == (clip.stat().st_size, content_hash(str(clip)),
                                                                {"kind": "video", "num_frames": 48})
    assert library.add_media(str(clip), probe={"kind": "video"}) == media_id  # adding again refreshes it
    assert library.media(media_id)["probe"] == {"kind": "video"}
    assert [m["id"] for m in library.media_with_hash(content_hash(str(clip)))] == [media_id]
    library.tag("media", media_id, "b-roll")
    assert library.media(media_id)["tags"] == ["b-roll"]


def test_library_cli_lists_searches_and_shows(capsys):
    library = Library()
    first = library.add_generation(_record(1, PROMPTS[0]))
    library.add_generation(_record(2, PROMPTS[1]))
    library.close()
    assert main(["library", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "harbour" in lines[0] and "fox" in lines[1]
    assert main(["library", "search", "fox", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [first]
    assert main(["library", "show", str(first)]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == [1]
    assert main(["library", "show", "77"]) == 2
    assert "no generation 77" in capsys.readouterr().err


def test_media_added_without_probe_info_is_probed(tmp_path):
    from tests.media.media_factory import index_video

    video = tmp_path / "count.mp4"
    index_video(str(video), 12, rate=24)
    library = Library(str(tmp_path / "l.sqlite"))
    row = library.media(library.add_media(str(video)))
    assert (row["probe"]["kind"], row["probe"]["num_frames"], row["probe"]["rate"]) == ("video", 12, "24/1")
    assert row["path"] == str(video) and row["size"] == video.stat().st_size


def test_rename_remove_and_put_back_keep_id_tags_children_and_search(tmp_path):
    library = Library(str(tmp_path / "library.sqlite"))
    parent = library.add_generation(_record(1, "a fox in the snow"))
    child = library.add_generation(_record(2, "the fox runs on", parent_id=parent))
    library.tag("generation", parent, "animals")
    library.rename("generation", parent, "  Fox, take one ")
    assert library.generation(parent)["name"] == "Fox, take one"
    removed = library.remove("generation", parent)
    assert library.generation(child)["parent_id"] is None  # ON DELETE SET NULL
    assert {r["id"] for r in library.search("fox")} == {child}
    library.put_back(removed)
    restored = library.generation(parent)
    assert restored["name"] == "Fox, take one" and restored["tags"] == ["animals"]
    assert library.generation(child)["parent_id"] == parent
    assert {r["id"] for r in library.search("snow")} == {parent}
    library.close()
