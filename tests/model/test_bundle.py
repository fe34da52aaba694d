"""Project bundles: a round trip keeps the project and its media; hostile archives are refused
before anything is written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile

import pytest

from engine.errors import ProjectFileError
from engine.model import edits
from engine.model.bundle import PROJECT_NAME, open_bundle, write_bundle
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.model.serialize import save_project
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
    opened = open_bundle(str(tmp_path / "p.kinorabundle"), str(tmp_path / "unpacked"))
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
