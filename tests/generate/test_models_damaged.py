"""One damaged model folder never hides the others from `kinora models` or from resolving a name."""

import json
import os
import shutil

import pytest

from engine.cli import main
from engine.generate import models


@pytest.fixture
def shelf(monkeypatch, tmp_path, tiny_ltx_dir):
    """A models folder (KINORA_MODELS) with one good tiny model and nothing else found anywhere."""
    monkeypatch.setattr(models, "RESOURCES", tmp_path / "resources")
    monkeypatch.setattr(models, "BUNDLED_MODEL", tmp_path / "resources" / "models" / "toyworld")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    folder = tmp_path / "shelf"
    shutil.copytree(tiny_ltx_dir, folder / "good")
    monkeypatch.setenv("KINORA_MODELS", str(folder))
    return folder


def _damaged(shelf, name, index_text):
    folder = shelf / name
    shutil.copytree(shelf / "good", folder)
    (folder / "model_index.json").write_text(index_text, encoding="utf-8")
    return folder


def test_damaged_model_folders_are_named_beside_the_good_ones(shelf, capsys):
    good_index = json.loads((shelf / "good" / "model_index.json").read_text())
    _damaged(shelf, "a-list", "[1, 2, 3]")
    _damaged(shelf, "not-json", "{model")
    _damaged(shelf, "nested", "[" * 100_000 + "]" * 100_000)
    _damaged(shelf, "short-spec", json.dumps({**good_index, "vae": ["diffusers"]}))
    _damaged(shelf, "null-class", json.dumps({**good_index, "vae": ["diffusers", None]}))
    _damaged(shelf, "list-library", json.dumps({**good_index, "vae": [["diffusers"], "AutoencoderKLLTXVideo"]}))
    (shelf / "bad-bytes").mkdir()
    (shelf / "bad-bytes" / "model_index.json").write_bytes(b"\xff\xfe{")
    os.symlink(shelf / "unplugged-drive", shelf / "gone")
    expected = {
        "a-list": "holds a JSON list, not the object",
        "not-json": "cannot be read",
        "nested": "cannot be read",
        "short-spec": "component 'vae' is [\"diffusers\"], not [library, class name]",
        "null-class": "component 'vae' is [\"diffusers\", null], not [library, class name]",
        "list-library": "not [library, class name]",
        "bad-bytes": "cannot be read",
        "gone": "is a link to",
    }
    if os.geteuid() != 0:  # root reads any folder, so a folder it cannot read cannot be made
        locked = shutil.copytree(shelf / "good", shelf / "locked")
        os.chmod(locked, 0)
        expected["locked"] = "cannot be read (Permission denied)"
    try:
        assert main(["models", "--json"]) == 0
        listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
        assert main(["models"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert models.resolve("good").usable  # a name still resolves with the damaged folders beside it
    finally:
        if "locked" in expected:
            os.chmod(shelf / "locked", 0o755)
    assert listed["good"]["usable"] and listed["good"]["family"] == "ltx"
    assert set(listed) == {"good", *expected}
    for name, why in expected.items():
        assert not listed[name]["usable"], name
        assert str(shelf / name) in listed[name]["problem"] and why in listed[name]["problem"], listed[name]
    assert sum(line.startswith("good\t") and line.endswith("\tok") for line in lines) == 1
    assert all(any(line.startswith(f"{name}\t") and "unusable: " in line for line in lines) for name in expected)
