"""People in conditioning media: detected locally, and generation needs the user's consent by
policy; the answer is recorded with the generation."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import skimage.data

from engine.errors import UserError
from engine.jobs.queue import JobQueue
from engine.jobs.worker import Worker
from engine.library.catalog import Library
from engine.safety.consent import check_consent
from engine.safety.faces import faces_in_file, faces_in_picture
from engine.user_settings import UserSettings, save_settings
from tests.jobs.conftest import generate_argv, tool_params

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _save(path, rgb):
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return str(path)


@pytest.fixture
def photos(tmp_path):
    return {name: _save(tmp_path / f"{name}.png", getattr(skimage.data, name)())
            for name in ("astronaut", "chelsea", "coffee")}


def test_faces_found_in_a_portrait_and_not_in_a_cat_or_a_cup(photos):
    assert faces_in_file(photos["astronaut"]) >= 1
    assert faces_in_file(photos["chelsea"]) == 0
    assert faces_in_file(photos["coffee"]) == 0


def test_faces_found_in_a_clip(tmp_path):
    from engine.generate.media_io import write_video

    portrait = cv2.resize(skimage.data.astronaut(), (256, 256))
    blank = np.zeros_like(portrait)
    clip = tmp_path / "clip.mp4"
    write_video(clip, np.stack([blank] * 10 + [portrait] * 14), 24)
    assert faces_in_file(str(clip)) >= 1
    assert faces_in_picture(blank) == 0


def test_policy_require_refuses_without_consent_and_records_it_with(photos):
    with pytest.raises(UserError, match="astronaut.png shows a person.*--consent"):
        check_consent([photos["astronaut"], photos["coffee"]], consent=False, policy="require")
    record = check_consent([photos["astronaut"], photos["coffee"]], consent=True, policy="require")
    assert record["consent"] is True and list(record["faces"]) == [photos["astronaut"]]
    warned = check_consent([photos["astronaut"]], consent=False, policy="warn")
    assert "not given" in warned["warning"]
    assert check_consent([photos["astronaut"]], consent=False, policy="off")["faces"] == {}
    assert check_consent([photos["chelsea"]], consent=False, policy="require")["faces"] == {}


def test_the_conditioning_media_of_every_tool(tmp_path):
    """What the consent check looks at: the pictures a request holds (request.inputs())."""
    from engine.generate import requests as rq
    from engine.generate.cli import request_from_argv
    from tests.generate.media import write_clip

    a, b = (str(write_clip(tmp_path / f"{name}.mp4", 9, seed=i)) for i, name in enumerate("ab"))
    out = ["-o", str(tmp_path / "out.mp4")]
    assert request_from_argv("generate", ["x", "--image", "/a/b@c.png@3:0.5", "--image", "/x.png@0",
                                          "--video", "/v.mp4@0", *out]).inputs() == ["/a/b@c.png", "/x.png", "/v.mp4"]
    assert request_from_argv("extend", [a, *out]).inputs() == [a]
    assert request_from_argv("blend", [a, b, *out]).inputs() == [a, b]
    assert sorted(request_from_argv("fill-gap", [a, b, *out]).inputs()) == sorted([a, b])
    clip = rq.ClipRef.of_file(a)
    assert rq.Variations(base=rq.Remix(output="/o.mp4", clip=clip), output="/p.mp4").inputs() == [a]


def test_cli_refuses_without_consent(photos, tmp_path):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "generate", "a walk on the moon", "--image",
                             f"{photos['astronaut']}@0", "-o", str(tmp_path / "out.npy")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert "astronaut.png shows a person" in result.stderr and "--consent" in result.stderr
    assert not (tmp_path / "out.npy").exists()


def test_a_job_records_the_consent_given(photos, tmp_path, tiny_model_dir):
    db = str(tmp_path / "library.sqlite")
    queue = JobQueue(db)
    refused = queue.submit("generate", tool_params(
        generate_argv(tiny_model_dir, tmp_path / "a.npy", steps=2) + ["--image", f"{photos['astronaut']}@0"]))
    given = queue.submit("generate", tool_params(
        generate_argv(tiny_model_dir, tmp_path / "b.npy", steps=2, prompt="moon walk")
        + ["--image", f"{photos['astronaut']}@0", "--consent"]))
    Worker(db, stop_when_empty=True).run()
    assert queue.get(refused).state == "failed" and "--consent" in queue.get(refused).error
    assert queue.get(given).state == "done", queue.get(given).error
    [record] = Library().search("moon walk")
    assert record["settings"]["consent"]["consent"] is True
    assert list(record["settings"]["consent"]["faces"]) == [photos["astronaut"]]


def test_policy_off_in_the_settings_skips_the_check(photos):
    save_settings(UserSettings(face_consent="off"))
    assert check_consent([photos["astronaut"]], consent=False) == {"policy": "off", "consent": False, "faces": {}}
