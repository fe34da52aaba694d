"""Hostile input, generated: project files, OpenTimelineIO files and bundles, damaged at random
(values replaced by hostile ones, keys deleted, data nested deep, bytes cut or flipped, bundle
members added with hostile names). Whatever the input, a command ends in its result or in one
KinoraError (exit 2 and one line on the command line), and no file outside its target changes.

The failures found by hand and by earlier runs are kept as small files in tests/fuzz_corpus/
(see its README.md) and replayed through the command line on every run.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.errors import KinoraError
from engine.model.bundle import open_bundle, write_bundle
from engine.model.otio_io import export_otio
from engine.model.serialize import load_project, project_to_dict, save_project
from tests.model.factories import rich_project

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_corpus")
# A few seconds per run; a longer hunt: KINORA_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py
FUZZ = settings(max_examples=int(os.environ.get("KINORA_FUZZ_EXAMPLES", "30")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])

# --- what hostile data looks like ---------------------------------------------------------------

SPECIAL_VALUES = st.sampled_from([
    0, -1, 1, 2**31, 2**31 - 1, -(2**31), 10**12, 10**30, 2**63, 1e308, -1e308, 5e-324, float("nan"), float("inf"),
    float("-inf"), "", "Clip.99", "Project.0", "../../etc/passwd", "/etc/passwd", "C:\\Windows", "\x00", "é" * 50,
    True, None, [], {}, [[0, 0.5, "linear"]], [[1e400, 2, "linear"]], {"schema": "Clip.1"}])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), SPECIAL_VALUES)
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3), max_leaves=8)


DEEP = "\x00deep:"  # a placeholder _encoded turns into that many levels of nesting


def _nested(levels: int) -> str:
    return f"{DEEP}{levels}"


@st.composite
def mutated(draw, document: object) -> object:
    """`document` with one to three hostile changes at random places."""
    data = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        parent, key, node = None, None, data
        while isinstance(node, (dict, list)) and node and (parent is None or draw(st.integers(0, 3)) > 0):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, draw(st.sampled_from(keys))
            node = node[key]
        if parent is None:
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete", "nest"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        else:
            parent[key] = _nested(draw(st.sampled_from([40, 300, 3000, 100_000])))
    return data


@st.composite
def damaged_bytes(draw, raw: bytes) -> bytes:
    """`raw` cut short, or with a few bytes overwritten."""
    data = bytearray(raw)
    if draw(st.booleans()):
        return bytes(data[:draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _encoded(data: object) -> bytes:
    """JSON as a hostile file may hold it: NaN and Infinity written as JavaScript does, and data
    nested deeper than Python's own encoder (or decoder) could handle."""
    text = json.dumps(data)
    marker = json.dumps(DEEP)[:-1]
    while (start := text.find(marker)) >= 0:
        stop = text.index('"', start + len(marker))
        levels = int(text[start + len(marker):stop])
        text = text[:start] + '{"a": [' * (levels // 2) + "1" + "]}" * (levels // 2) + text[stop + 1:]
    return text.encode()


def _files(folder: str, leave_out: str | None = None) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder under `folder`, less `leave_out` and what is in it."""
    found: dict[str, bytes | None] = {}
    for here, folders, names in os.walk(folder):
        for name in folders + names:
            path = os.path.join(here, name)
            if leave_out and (path == leave_out or path.startswith(leave_out + os.sep)):
                continue
            found[os.path.relpath(path, folder)] = Path(path).read_bytes() if os.path.isfile(path) else None
    return found


# --- project files ------------------------------------------------------------------------------

_PROJECT = project_to_dict(rich_project("24000/1001", root="/nowhere/media"), "/nowhere")


@FUZZ
@given(st.one_of(mutated(_PROJECT).map(_encoded), damaged_bytes(_encoded(_PROJECT))))
def test_any_project_file_loads_or_is_one_error_and_what_loads_saves_and_loads_again(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "p.kinora")
        with open(path, "wb") as handle:
            handle.write(raw)
        try:
            project = load_project(path)
        except KinoraError:
            assert _files(folder) == {"p.kinora": raw}
            return
        again_path = os.path.join(folder, "again.kinora")
        save_project(project, again_path)  # what loads must also save, and load back the same
        assert project_to_dict(load_project(again_path), folder) == project_to_dict(project, folder)


# --- OpenTimelineIO files -----------------------------------------------------------------------

_OTIO = json.loads(export_otio(rich_project("25", root="/nowhere/media"))[0].to_json_string())


@FUZZ
@given(st.one_of(mutated(_OTIO).map(_encoded), damaged_bytes(_encoded(_OTIO))))
def test_any_otio_file_imports_or_is_one_error(raw):
    with tempfile.TemporaryDirectory() as folder:
        source, out = os.path.join(folder, "cut.otio"), os.path.join(folder, "out.kinora")
        with open(source, "wb") as handle:
            handle.write(raw)
        code = main(["otio", "import", source, "-o", out])
        assert code in (0, 2)
        assert _files(folder, leave_out=out) == {"cut.otio": raw}
        if code == 0:
            load_project(out)
        else:
            assert not os.path.exists(out)


# --- bundles ------------------------------------------------------------------------------------

HOSTILE_NAMES = st.sampled_from([
    "engine/__init__.py", "engine/cli.py", "sitecustomize.py", "media/x.pth", "media/../../x", "../x", "/etc/x",
    "C:/x", "media\\x", "media/", "media/a/b.mp4", "notes.txt", "project.kinora.~1~", "media/shot.mp4",
    "media/shot.mp4.provenance.json", "media/extra.mp4"])
MEMBER_NAMES = st.one_of(HOSTILE_NAMES, st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                                                max_size=20))


def _bundle_parts() -> tuple[dict, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        project = rich_project("24", root=os.path.join(folder, "media"))
        ref = next(iter(project.media.values()))
        os.makedirs(os.path.dirname(ref.path), exist_ok=True)
        with open(ref.path, "wb") as handle:
            handle.write(b"the bytes of a shot " * 20)
        path = write_bundle(project, os.path.join(folder, "p.kinorabundle"))
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("project.kinora")), Path(path).read_bytes()


_BUNDLE_PROJECT, _BUNDLE = _bundle_parts()


@st.composite
def hostile_bundles(draw) -> bytes:
    if draw(st.booleans()):
        return draw(damaged_bytes(_BUNDLE))
    project = draw(st.one_of(st.just(_BUNDLE_PROJECT), mutated(_BUNDLE_PROJECT)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.kinora", _encoded(project))
        for name in draw(st.lists(MEMBER_NAMES, max_size=3)):
            archive.writestr(name, draw(st.binary(max_size=64)))
    return buffer.getvalue()


@FUZZ
@given(hostile_bundles(), st.booleans())
def test_any_bundle_opens_inside_its_folder_or_is_one_error_and_keeps_every_file(raw, into_existing):
    with tempfile.TemporaryDirectory() as folder:
        bundle, out = os.path.join(folder, "b.kinorabundle"), os.path.join(folder, "out")
        with open(bundle, "wb") as handle:
            handle.write(raw)
        if into_existing:  # the user's own work where the bundle is opened: a merge must keep all of it
            os.makedirs(os.path.join(out, "media"))
            for name in ("project.kinora", "media/shot.mp4", "mine.txt"):
                with open(os.path.join(out, name), "w") as handle:
                    handle.write(f"the user's {name}")
        before = _files(folder)
        try:
            opened = open_bundle(bundle, out, merge=into_existing)
        except KinoraError:
            assert _files(folder) == before
            return
        assert _files(folder, leave_out=out) == {name: data for name, data in before.items()
                                                if not (name == "out" or name.startswith("out" + os.sep))}
        after = _files(out)
        assert not any(name.endswith(".py") or name.startswith("engine") for name in after)
        root = os.path.realpath(out)
        for ref in opened.project.media.values():
            assert os.path.commonpath([root, os.path.realpath(ref.path)]) == root
        if into_existing:  # each file the user had is still there, under its name or as NAME.~N~
            kept = set(after.values())
            assert all(f"the user's {name}".encode() in kept for name in ("project.kinora", "media/shot.mp4"))
            assert after["mine.txt"] == b"the user's mine.txt"


# --- the corpus: failures found before, replayed through the command line ------------------------

CORPUS_FILES = sorted(name for name in os.listdir(CORPUS) if not name.endswith(".md"))


def _command(name: str, source: str, folder: str) -> tuple[list[str], str]:
    if name.endswith(".kinora"):
        target = os.path.join(folder, "out.mp4")
        return ["render", source, "-o", target], target
    if name.endswith((".otio", ".otioz")):
        target = os.path.join(folder, "out.kinora")
        return ["otio", "import", source, "-o", target], target
    target = os.path.join(folder, "out")
    return ["bundle", "open", source, "-o", target], target


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_the_corpus_of_past_failures_is_refused_in_one_line(name, tmp_path, capsys):
    source = str(tmp_path / name)
    shutil.copyfile(os.path.join(CORPUS, name), source)
    argv, target = _command(name, source, str(tmp_path))
    before = _files(str(tmp_path))
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if name.startswith("opens-"):  # opened, with what was unsafe in it turned off and reported
        assert code == 0 and "warning:" in err
    else:
        assert code == 2 and err.count("\n") == 1, err
        assert not os.path.exists(target)
    assert _files(str(tmp_path), leave_out=target) == before
