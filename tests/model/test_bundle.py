"""Project bundles: a round trip keeps the project and its media; hostile archives are refused
before anything is written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.errors import ProjectFileError
from engine.model import edits
from engine.model.bundle import PROJECT_NAME, SIDECAR_SUFFIXES, open_bundle, write_bundle
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.model.serialize import load_project, project_to_dict, save_project
from engine.time import FrameRange, FrameRate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_round_trip_brings_the_media_along(tmp_path):
    media = tmp_path / "src"
    media.mkdir()
    (media / "shot.mp4").write_bytes(b"video bytes" * 100)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "shot.mp4").write_bytes(b"another shot")
    project = new_project(64, 48, 24)
    for media_id, path in (("a", media / "shot.mp4"), ("b", tmp_path / "other" / "shot.mp4")):
        edits.add_media(project, MediaRef(media_id, str(path), "video", num_frames=100, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "a", FrameRange(0, 10)))
    write_bundle(project, str(tmp_path / "p.kinorabundle"))
    opened = open_bundle(str(tmp_path / "p.kinorabundle"), str(tmp_path / "unpacked")).project
    paths = {ref.id: ref.path for ref in opened.media.values()}
    assert paths == {"a": str(tmp_path / "unpacked" / "media" / "shot.mp4"),
                     "b": str(tmp_path / "unpacked" / "media" / "shot-2.mp4")}
    with open(paths["b"], "rb") as handle:
        assert handle.read() == b"another shot"
    assert opened.timeline.tracks == project.timeline.tracks


def _hostile(tmp_path, name: str, *, link: bool = False, data: bytes = b"x") -> str:
    path = tmp_path / "evil.kinorabundle"
    project = tmp_path / "ok.kinora"
    save_project(new_project(), project)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(project, PROJECT_NAME)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        if link:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, data)
    return str(path)


@pytest.mark.parametrize(("member", "reason"), [
    ("/tmp/evil.txt", "absolute"),
    ("../evil.txt", "climbs out"),
    ("media/../../evil.txt", "climbs out"),
    ("C:/evil.txt", "absolute or Windows"),
])
def test_traversal_and_absolute_paths_are_refused(tmp_path, member, reason):
    bundle = _hostile(tmp_path, member)
    with pytest.raises(ProjectFileError, match=reason):
        open_bundle(bundle, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_links_and_zip_bombs_are_refused(tmp_path):
    with pytest.raises(ProjectFileError, match="is a link"):
        open_bundle(_hostile(tmp_path, "media/link", link=True, data=b"/etc/passwd"), str(tmp_path / "out"))
    with pytest.raises(ProjectFileError, match="zip bomb"):
        open_bundle(_hostile(tmp_path, "media/bomb.bin", data=b"\0" * 5_000_000), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_not_a_bundle_is_one_clear_line(tmp_path):
    (tmp_path / "x.kinorabundle").write_text("hello")
    result = subprocess.run([sys.executable, "-m", "engine.cli", "bundle", "open", str(tmp_path / "x.kinorabundle"),
                             "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and "is not a Kinora bundle" in result.stderr
    assert result.stderr.count("\n") == 1


# --- nothing the user made is lost, nothing from a bundle runs ------------------------------


def _kinora(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def _project_with_media(tmp_path, *names: str):
    project = new_project(64, 48, 24)
    for i, name in enumerate(names):
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"video {name}".encode() * 50)
        edits.add_media(project, MediaRef(f"m{i}", str(path), "video", num_frames=100, rate=FrameRate.parse(24)))
    return project


def _leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".partial")]


def test_open_refuses_a_folder_that_already_holds_files(tmp_path):
    bundle = write_bundle(_project_with_media(tmp_path, "shot.mp4"), str(tmp_path / "p.kinorabundle"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / PROJECT_NAME).write_text("my own work")
    with pytest.raises(ProjectFileError, match="already holds files.*--merge"):
        open_bundle(bundle, str(tmp_path / "mine"))
    assert os.listdir(tmp_path / "mine") == [PROJECT_NAME]
    assert (tmp_path / "mine" / PROJECT_NAME).read_text() == "my own work"
    result = _kinora("bundle", "open", bundle, "-o", str(tmp_path / "mine"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--merge" in result.stderr
    assert (tmp_path / "mine" / PROJECT_NAME).read_text() == "my own work"


def test_merge_keeps_every_file_it_would_replace(tmp_path):
    bundle = write_bundle(_project_with_media(tmp_path, "shot.mp4"), str(tmp_path / "p.kinorabundle"))
    mine = tmp_path / "mine"
    (mine / "media").mkdir(parents=True)
    (mine / PROJECT_NAME).write_text("my own project")
    (mine / "media" / "shot.mp4").write_bytes(b"my own shot")
    (mine / "notes.txt").write_text("untouched")
    result = _kinora("bundle", "open", bundle, "-o", str(mine), "--merge")
    assert result.returncode == 0, result.stderr
    assert (mine / f"{PROJECT_NAME}.~1~").read_text() == "my own project"
    assert (mine / "media" / "shot.mp4.~1~").read_bytes() == b"my own shot"
    assert (mine / "media" / "shot.mp4").read_bytes() == b"video shot.mp4" * 50
    assert (mine / "notes.txt").read_text() == "untouched"
    assert "kept the file that was there" in result.stderr
    opened = open_bundle(bundle, str(mine), merge=True)  # a second merge keeps the first copies too
    assert sorted(os.path.basename(path) for path in opened.kept) == [f"{PROJECT_NAME}.~2~", "shot.mp4.~2~"]
    assert (mine / f"{PROJECT_NAME}.~1~").read_text() == "my own project"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(("member", "reason"), [
    ("engine/__init__.py", "program code"),
    ("engine/cli.py", "program code"),
    ("media/helper.py", "program code"),
    ("media/sitecustomize.pth", "program code"),
    ("notes.txt", "not the project, one of its media"),
    ("media/unlisted.mp4", "not the project, one of its media"),
])
def test_members_that_are_not_the_project_or_its_media_are_refused(tmp_path, member, reason):
    bundle = _hostile(tmp_path, member, data=b"import os\nos.system('echo owned')\n")
    with pytest.raises(ProjectFileError, match=reason):
        open_bundle(bundle, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def _bundle_pointing_outside(tmp_path) -> str:
    """A bundle whose project names a file beside the bundle folder (../) and one by absolute path."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the user's private file")
    project = new_project(64, 48, 24)
    for media_id in ("rel", "abs"):
        edits.add_media(project, MediaRef(media_id, str(secret), "video", num_frames=10, rate=FrameRate.parse(24)))
    data = project_to_dict(project, str(tmp_path / "out"))  # from the folder it opens into: "../secret.txt"
    data["media"][1]["path"] = str(secret)
    assert data["media"][0]["path"] == "../secret.txt"
    path = tmp_path / "outside.kinorabundle"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(PROJECT_NAME, json.dumps(data))
    return str(path)


def test_media_outside_the_bundle_open_offline_and_never_travel_on(tmp_path):
    opened = open_bundle(_bundle_pointing_outside(tmp_path), str(tmp_path / "out"))
    assert len(opened.warnings) == 2 and all("points outside the bundle" in w for w in opened.warnings)
    for ref in opened.project.media.values():
        assert ref.path == str(tmp_path / "out" / "secret.txt") and not os.path.exists(ref.path)
    written = (tmp_path / "out" / PROJECT_NAME).read_text()
    assert "secret.txt" in written and str(tmp_path / "secret.txt") not in written and "../" not in written
    again = load_project(tmp_path / "out" / PROJECT_NAME)  # the folder's project, opened on its own
    assert {ref.path for ref in again.media.values()} == {str(tmp_path / "out" / "secret.txt")}
    write_bundle(again, str(tmp_path / "again.kinorabundle"))
    with zipfile.ZipFile(tmp_path / "again.kinorabundle") as archive:
        assert archive.namelist() == [PROJECT_NAME]
    assert b"private" not in (tmp_path / "again.kinorabundle").read_bytes()


def test_an_exported_bundle_names_no_folder_of_its_maker(tmp_path):
    project = _project_with_media(tmp_path, "here.mp4")
    gone = tmp_path / "home" / "alice" / "secret-project" / "gone.mp4"
    edits.add_media(project, MediaRef("gone", str(gone), "video", num_frames=10, rate=FrameRate.parse(24)))
    bundle = write_bundle(project, str(tmp_path / "p.kinorabundle"))
    with zipfile.ZipFile(bundle) as archive:
        text = archive.read(PROJECT_NAME).decode()
    assert str(tmp_path) not in text and "alice" not in text and "secret-project" not in text
    opened = open_bundle(bundle, str(tmp_path / "out"))
    assert opened.warnings == []
    assert opened.project.media["gone"].path == str(tmp_path / "out" / "gone.mp4")  # offline, under its name
    assert opened.project.media["m0"].path == str(tmp_path / "out" / "media" / "here.mp4")


def test_provenance_sidecars_travel_with_their_media(tmp_path):
    project = _project_with_media(tmp_path, "made.mp4")
    (tmp_path / "src" / "made.mp4.provenance.json").write_text('{"generator": "Kinora"}')
    opened = open_bundle(write_bundle(project, str(tmp_path / "p.kinorabundle")), str(tmp_path / "out"))
    assert (tmp_path / "out" / "media" / "made.mp4.provenance.json").read_text() == '{"generator": "Kinora"}'
    assert opened.warnings == []


def test_the_sidecar_suffix_is_the_one_provenance_writes():
    from engine.media.provenance import SIDECAR_SUFFIX

    assert SIDECAR_SUFFIXES == (SIDECAR_SUFFIX,)


def _patch_member(path, name: str, *, flag: int | None = None, method: int | None = None) -> None:
    """Rewrite a member's flag bits or compression method in both its local and central headers."""
    data = bytearray(Path(path).read_bytes())
    encoded = name.encode()
    for signature, flag_at, method_at, name_at in ((b"PK\x03\x04", 6, 8, 30), (b"PK\x01\x02", 8, 10, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at:start + name_at + len(encoded)] == encoded:
                if flag is not None:
                    data[start + flag_at:start + flag_at + 2] = flag.to_bytes(2, "little")
                if method is not None:
                    data[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            start += 4
    Path(path).write_bytes(bytes(data))


@pytest.mark.parametrize(("damage", "reason"), [
    ("encrypted", "encrypted"),
    ("method", "compression method 99"),
    ("crc", "damaged"),
])
def test_damaged_archives_are_one_error_and_leave_nothing_behind(tmp_path, damage, reason):
    bundle = write_bundle(_project_with_media(tmp_path, "a.mp4", "b.mp4"), str(tmp_path / "p.kinorabundle"))
    if damage == "encrypted":
        _patch_member(bundle, "media/b.mp4", flag=0x1)
    elif damage == "method":
        _patch_member(bundle, "media/b.mp4", method=99)
    else:  # flip one byte of the last member's stored data: only its CRC check can tell
        data = bytearray(Path(bundle).read_bytes())
        data[data.rfind(b"video b.mp4") + 3] ^= 0xFF
        Path(bundle).write_bytes(bytes(data))
    with pytest.raises(ProjectFileError, match=reason):
        open_bundle(bundle, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []
    result = _kinora("bundle", "open", bundle, "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_export_never_writes_over_its_own_project_or_media(tmp_path):
    project = _project_with_media(tmp_path, "shot.mp4")
    save_project(project, tmp_path / "p.kinora")
    before = (tmp_path / "p.kinora").read_bytes()
    os.link(tmp_path / "src" / "shot.mp4", tmp_path / "hardlink.mp4")
    for output in (tmp_path / "p.kinora", tmp_path / "src" / "shot.mp4", tmp_path / "hardlink.mp4"):
        result = _kinora("bundle", "export", str(tmp_path / "p.kinora"), "-o", str(output))
        assert result.returncode == 2 and "own files" in result.stderr and result.stderr.count("\n") == 1
    assert (tmp_path / "p.kinora").read_bytes() == before
    assert (tmp_path / "src" / "shot.mp4").read_bytes() == b"video shot.mp4" * 50


def _file_size_limit(limit: int):
    """For a child process: writes past `limit` bytes fail with EFBIG, as on a full disk."""
    def apply() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.skipif(sys.platform == "win32", reason="file size limits are POSIX")
def test_a_failed_export_is_one_error_and_keeps_the_old_bundle(tmp_path):
    project = _project_with_media(tmp_path, "shot.mp4")
    (tmp_path / "src" / "shot.mp4").write_bytes(os.urandom(200_000))
    save_project(project, tmp_path / "p.kinora")
    (tmp_path / "p.kinorabundle").write_bytes(b"the bundle from yesterday")
    result = subprocess.run([sys.executable, "-m", "engine.cli", "bundle", "export", str(tmp_path / "p.kinora"),
                             "-o", str(tmp_path / "p.kinorabundle")], capture_output=True, text=True, cwd=REPO,
                            timeout=120, preexec_fn=_file_size_limit(100_000))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot write" in result.stderr
    assert (tmp_path / "p.kinorabundle").read_bytes() == b"the bundle from yesterday"
    assert sorted(os.listdir(tmp_path)) == ["p.kinora", "p.kinorabundle", "src"]
