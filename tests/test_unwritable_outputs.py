"""An output that cannot be written (a read-only folder, a path under a file, a folder given as
the file) is one clear error naming it, before any work: no model loaded, no project read."""

from __future__ import annotations

import os

import pytest

from engine.cli import main
from engine.model.project import new_project
from engine.model.serialize import save_project


def _read_only_folder(tmp_path) -> str:
    """A folder this process cannot create files in: mode 555, or, for an administrator (who
    ignores modes), the kernel's read-only /sys."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        os.close(os.open(folder / "probe", os.O_CREAT | os.O_WRONLY))
    except OSError:
        return str(folder)
    os.unlink(folder / "probe")
    return "/sys"


@pytest.fixture
def unwritable(tmp_path):
    """(name, output path, words the message must hold) for each way an output cannot be written."""
    blocker = tmp_path / "a-file"
    blocker.write_text("the user's notes")
    read_only = _read_only_folder(tmp_path)
    cases = {
        "read-only folder": (os.path.join(read_only, "out"), "cannot write into the folder"),
        "parent is a file": (str(blocker / "out"), f"{blocker} is a file, not a folder"),
        "folder missing": (str(tmp_path / "no-such-folder" / "out"), "does not exist; create it first"),
        "output is a folder": (str(tmp_path / "taken"), "is a folder; give the output a file name"),
    }
    for ext in EXTENSIONS:
        (tmp_path / f"taken{ext}").mkdir()
    yield cases
    (tmp_path / "read-only").chmod(0o755)
    assert blocker.read_text() == "the user's notes"


EXTENSIONS = (".npy", ".mp4", ".kinorabundle", ".otio")


def _refused(argv, output, why, capsys):
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert output in err and why in err, err


def test_every_command_that_writes_a_file_refuses_an_unwritable_output_first(tmp_path, unwritable, capsys):
    project = tmp_path / "cut.kinora"
    save_project(new_project(), project)
    for output, why in unwritable.values():
        suffix_of = lambda ext, output=output: output + ext  # noqa: E731
        # the model named does not exist: the output is refused before any model is looked for
        for ext in (".npy", ".mp4"):
            _refused(["generate", "a red fox", "--frames", "9", "--size", "32x32", "--model",
                      str(tmp_path / "no-model"), "-o", suffix_of(ext)], suffix_of(ext), why, capsys)
        # the project named does not exist: the output is refused before the project is read
        _refused(["render", str(tmp_path / "missing.kinora"), "-o", suffix_of(".mp4")], suffix_of(".mp4"), why, capsys)
        _refused(["bundle", "export", str(project), "-o", suffix_of(".kinorabundle")], suffix_of(".kinorabundle"),
                 why, capsys)
        _refused(["otio", "export", str(project), "-o", suffix_of(".otio")], suffix_of(".otio"), why, capsys)
    assert sorted(os.listdir(tmp_path)) == sorted(["a-file", "cut.kinora", "read-only",
                                                   *(f"taken{ext}" for ext in EXTENSIONS)])  # nothing left behind
    assert all(not os.listdir(tmp_path / f"taken{ext}") for ext in EXTENSIONS)
