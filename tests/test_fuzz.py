"""Hostile input, generated: project files, OpenTimelineIO files and bundles, damaged at random
(values replaced by hostile ones, keys deleted, data nested deep, bytes cut or flipped, bundle
members added with hostile names); style presets, the JSON files of model folders, and the
command lines of the AI tools. Whatever the input, a command ends in its result or in one
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


# --- style presets -----------------------------------------------------------------------------

_PRESET = {"prompt_prefix": "cinematic shot,", "prompt_suffix": "film grain", "negative": "blurry", "guidance": 3.5,
           "steps": 20, "lora": "style.safetensors", "lora_weight": 0.8}
TOML_VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "+inf", "1e400", "-1e400", "1e308", "9" * 40, "0", "-1", "true", "[]",
                     "{}", '""', '"\\u0000"', '"x.bin"', '"../../../../etc/passwd.safetensors"', '"/abs.safetensors"',
                     '"' + "a" * 5000 + '.safetensors"', "1979-05-27T07:32:00Z", "[" * 2000 + "]" * 2000,
                     '"\\u00e9\\u4e2d.safetensors"', "0x7fffffff", "1_000", "-0.0", "5e-324"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda v: repr(v).replace("nan", "nan").lower()),
    st.text(max_size=12).map(json.dumps))


@st.composite
def preset_texts(draw) -> bytes:
    """A preset file: the settings in a random order, some with hostile values, keys misspelt, or
    its bytes cut or flipped."""
    lines = []
    for key, value in _PRESET.items():
        if draw(st.integers(0, 3)) == 0:
            continue
        key = draw(st.sampled_from([key, key, key, key.upper(), key + "s", "[" + key + "]"]))
        lines.append(f"{key} = {draw(TOML_VALUES) if draw(st.booleans()) else json.dumps(value)}")
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    return draw(damaged_bytes(raw)) if raw and draw(st.integers(0, 4)) == 0 else raw


@FUZZ
@given(preset_texts())
def test_any_preset_file_is_a_preset_or_one_error(raw):
    from engine.errors import UserError
    from engine.generate.presets import MAX_LORA_WEIGHT, Preset, load_preset

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "style.toml")
        Path(path).write_bytes(raw)
        try:
            preset = load_preset(path)
        except UserError as error:
            assert path in str(error) and "\n" not in str(error)
            return
        finally:
            assert _files(folder) == {"style.toml": raw}
        assert isinstance(preset, Preset)
        assert preset.steps is None or 1 <= preset.steps <= 1000
        assert preset.guidance is None or 0 <= preset.guidance <= 50
        assert abs(preset.lora_weight) <= MAX_LORA_WEIGHT
        assert not preset.lora or preset.lora.endswith(".safetensors")
        assert all("\x00" not in text for text in (preset.prompt("a cat"), preset.negative))


@FUZZ
@given(st.one_of(st.text(max_size=40), st.sampled_from(["", ".", "..", "../../etc/passwd", "/", "x" * 5000, "a\x00b",
                                                        "cinematic/", ".hidden", "C:\\x", "\udcff"])))
def test_any_preset_name_is_a_preset_or_one_error(name):
    from engine.errors import UserError
    from engine.generate.presets import PRESETS_DIR, load_preset

    try:
        preset = load_preset(name)
    except UserError:
        return
    assert (PRESETS_DIR / f"{preset.name}.toml").is_file()  # only the installed presets load by name


# --- model folders -----------------------------------------------------------------------------

_MODEL_FILES = ("model_index.json", "vae/config.json", "transformer/config.json", "text_encoder/config.json",
                "scheduler/scheduler_config.json", "tokenizer/tokenizer_config.json")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tests.generate.tiny_models import save_tiny_ltx

    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


@st.composite
def model_damage(draw) -> tuple[str, bytes | None]:
    """(a JSON file of a model folder, what to write there instead; None: delete it)."""
    name = draw(st.sampled_from(_MODEL_FILES))
    return name, draw(st.one_of(st.just(None), st.sampled_from([b"", b"[]", b"null", b"1e400", b"\xff\xfe"]),
                                st.builds(lambda v: _encoded({"_class_name": v}), VALUES),
                                st.builds(lambda k, v: _encoded({k: v}), st.sampled_from(
                                    ["vae", "transformer", "../../x", "/etc", "", "auto_map", "_kinora_defaults"]),
                                    VALUES),
                                st.just(_nested(100_000)).map(_encoded)))


def _damage_model(folder: Path, name: str, change: bytes | None, draw_doc) -> None:
    file = folder / name
    if change is None:
        file.unlink(missing_ok=True)
    elif draw_doc is not None:
        file.write_bytes(draw_doc)
    else:
        file.write_bytes(change)


@FUZZ
@given(model_damage(), st.data())
def test_a_damaged_model_folder_is_listed_with_its_problem_and_the_good_one_still_usable(tiny_model, damage, data):
    from engine.generate.models import discover, frame_layout

    name, change = damage
    with tempfile.TemporaryDirectory() as shelf:
        good, bad = Path(shelf) / "good", Path(shelf) / "bad"
        shutil.copytree(tiny_model, good)
        shutil.copytree(tiny_model, bad)
        mutate_valid = change is not None and data.draw(st.booleans())
        doc = None
        if mutate_valid:  # a hostile change inside the valid file, rather than a new file
            doc = _encoded(data.draw(mutated(json.loads((tiny_model / name).read_text()))))
        _damage_model(bad, name, change, doc)
        before = _files(shelf)
        old_env = {key: os.environ.get(key) for key in ("KINORA_MODELS", "HF_HUB_CACHE")}
        os.environ["KINORA_MODELS"], os.environ["HF_HUB_CACHE"] = shelf, os.path.join(shelf, "no-hub")
        try:
            found = {m.name: m for m in discover()}
            out = io.StringIO()
            from contextlib import redirect_stdout

            with redirect_stdout(out):
                assert main(["models", "--json"]) == 0
        finally:
            for key, value in old_env.items():
                os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
        assert found["good"].usable, found["good"].problem
        if name == "model_index.json" and change is None:  # no longer a model folder at all
            assert "bad" not in found
            return
        assert found["bad"].usable or (isinstance(found["bad"].problem, str) and found["bad"].problem)
        listed = {entry["name"]: entry for entry in json.loads(out.getvalue())}
        assert listed["good"]["usable"] and listed["bad"]["problem"] == found["bad"].problem
        layout = frame_layout(found["bad"])
        assert layout is None or all(isinstance(n, int) and n > 0 for n in layout)
        assert _files(shelf) == before


# --- command lines of the AI tools ---------------------------------------------------------------

NUMBER_TEXT = st.one_of(st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e400", "9" * 30, "9" * 5000, "0x10", "",
                                         " 3", "\u0661\u0662", "1_0", "8", "16", "0.5", "-0.0", "1e-320"]),
                        st.integers().map(str), st.floats().map(str))
RANGE_TEXT = st.one_of(st.sampled_from(["9:3", "0:0", "-1:4", "a:b", "1:2:3", "", ":", "0:8", "2:6", "3:99999999999",
                                        "0:" + "9" * 5000]),
                       st.tuples(st.integers(-5, 20), st.integers(-5, 20)).map(lambda r: f"{r[0]}:{r[1]}"))
ODD_TEXT = st.one_of(st.text(max_size=20), st.sampled_from(["-glitch art", "--frames", "-o", "\udcff", "a\x00b",
                                                            "é中🎬", " ", "x" * 30_000, "@", "a@b@c:d"]))
_TOOL_OPTIONS = {
    "generate": {"--frames": NUMBER_TEXT, "--duration": NUMBER_TEXT, "--rate": NUMBER_TEXT, "--prompt-at": st.one_of(
        RANGE_TEXT.map(lambda r: r + ":a cat"), ODD_TEXT), "--image": st.sampled_from(
        ["clip.mp4@0", "missing.png@0", "clip.mp4@-1:nan", "clip.mp4@x", "@3", "clip.mp4@1:2"]),
        "--video": st.sampled_from(["clip.mp4@0:0.5", "missing.mp4@9", "clip.mp4@99999999999"]),
        "--project": st.sampled_from(["missing.kinora", "clip.mp4", "."]), "--range": RANGE_TEXT},
    "extend": {"--frames": NUMBER_TEXT, "--context": NUMBER_TEXT, "--range": RANGE_TEXT},
    "loop": {"--frames": NUMBER_TEXT, "--context": NUMBER_TEXT, "--range": RANGE_TEXT},
    "blend": {"--first-curve": st.one_of(ODD_TEXT, st.sampled_from(["0:1,16:0", "nan:1", "1e400:0", "5:1,5:1",
                                                                    "0:inf", "0:-3,2:9"])),
              "--second-curve": ODD_TEXT, "--frames": NUMBER_TEXT, "--first-range": RANGE_TEXT,
              "--second-range": RANGE_TEXT, "--preset-curve": st.sampled_from(["mix", "transition", "x"])},
    "remix": {"--strength": NUMBER_TEXT, "--range": RANGE_TEXT},
    "upscale": {"--strength": NUMBER_TEXT, "--range": RANGE_TEXT},
    "retake": {"--ramp": NUMBER_TEXT, "--range": RANGE_TEXT},
    "fill-gap": {"--frames": NUMBER_TEXT, "--context": NUMBER_TEXT},
}
_COMMON_OPTIONS = {"--steps": NUMBER_TEXT, "--guidance": NUMBER_TEXT, "--seed": NUMBER_TEXT,
                   "--variations": NUMBER_TEXT, "--size": st.sampled_from(["704x480", "0x0", "1e3x5", "x", "-16x16",
                                                                           "99999x99999", "16x16x16", "１６x１６"]),
                   "--negative": ODD_TEXT, "--preset": st.sampled_from(["cinematic", "missing", "../../x", "p.toml"]),
                   "--aspect": st.sampled_from(["16:9", "4:3"]), "--device": st.sampled_from(["cpu", "tpu"])}
_INPUTS = ("clip.mp4", "missing.mp4", ".", "notes.txt", "-dash.mp4", "é中.mp4", "clip.mp4/x.mp4")


@st.composite
def tool_argv(draw) -> list[str]:
    tool = draw(st.sampled_from(sorted(_TOOL_OPTIONS)))
    argv = [tool]
    argv += [draw(st.sampled_from(_INPUTS)) for _ in range({"generate": 0, "blend": 2, "fill-gap": 2}.get(tool, 1))]
    if tool == "retake":
        argv.append(draw(RANGE_TEXT))
    if draw(st.booleans()):
        argv.append(draw(ODD_TEXT))
    elif draw(st.booleans()):
        argv.append("--prompt=" + draw(ODD_TEXT))
    options = {**_TOOL_OPTIONS[tool], **_COMMON_OPTIONS}
    for option in draw(st.lists(st.sampled_from(sorted(options)), max_size=4)):
        argv.append(f"{option}={draw(options[option])}" if draw(st.booleans()) else option)
        if "=" not in argv[-1]:
            argv.append(draw(options[option]))
    argv += draw(st.sampled_from([["-o", "out.mp4"], ["-o", "out.npy"], ["-o", "out.txt"], ["-o", "sub/out.mp4"],
                                  ["-o", "clip.mp4"], ["-o", ""], []]))
    return [*argv, "--model", "no-such-model", "--quiet"]


@pytest.fixture(scope="module")
def tool_folder(tmp_path_factory):
    from tests.generate.media import write_clip

    folder = tmp_path_factory.mktemp("tools")
    write_clip(folder / "clip.mp4", 8)
    (folder / "notes.txt").write_text("not a video")
    (folder / "p.toml").write_text("steps = 1e400")
    return folder


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 2))  # clip tools probe their files: ~0.5 s each
@given(argv=tool_argv())
def test_any_command_line_of_an_ai_tool_is_one_error_and_writes_nothing(tool_folder, argv, capsys):
    before = _files(str(tool_folder))
    here = os.getcwd()
    os.chdir(tool_folder)  # relative paths land in the folder, so all that might change is in it
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refusing an option
        code = stop.code
    finally:
        os.chdir(here)
    err = capsys.readouterr().err
    assert code == 2, err  # no model of that name: never a generation, always one refusal
    assert "Traceback" not in err and err.strip()
    assert _files(str(tool_folder)) == before


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
