"""A long generation killed in its third window of five resumes there: the windows it finished
are read back, not made again, and the result is the uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import av
import numpy as np

PROMPT = "a red circle moving right on a black background"
FRAMES = 129  # the bundled model's windows of 33 frames sharing 9: five windows


def _kinora() -> str:
    return os.path.join(os.path.dirname(sys.executable), "kinora")


def _command(output) -> list[str]:
    return [_kinora(), "generate", PROMPT, "--frames", str(FRAMES), "--steps", "2", "--seed", "5", "-o", str(output)]


def _frames(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_kill_during_window_3_of_5_then_the_same_job_resumes_at_window_3(tmp_path):
    output = tmp_path / "long.mp4"
    store = tmp_path / ".long.mp4.windows" / "seed-5"
    log = (tmp_path / "first.log").open("w")  # noqa: SIM115 (closed once the process is killed)
    first = subprocess.Popen(_command(output), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while not (store / "window-001.safetensors").exists():  # windows 1 and 2 are committed
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        log.close()
    assert not output.exists()
    committed = sorted(p.name for p in store.glob("window-*.safetensors"))
    assert committed[:2] == ["window-000.safetensors", "window-001.safetensors"] and len(committed) < 5
    before = {name: ((store / name).stat().st_mtime_ns, (store / name).stat().st_ino) for name in committed}

    # the same job again: it starts where the first one stopped
    watcher = subprocess.Popen(_command(output), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen_untouched, text = None, ""
    while chunk := os.read(watcher.stdout.fileno(), 4096):  # progress lines end in "\r", not "\n"
        text += chunk.decode(errors="replace")
        if seen_untouched is None and "window 3 of 5" in text:  # while window 3 runs, 1-2 are as they were
            seen_untouched = all(((store / n).stat().st_mtime_ns, (store / n).stat().st_ino) == before[n]
                                 for n in committed[:2])
    assert watcher.wait(timeout=600) == 0, text[-3000:]
    assert "window 1 of 5 was made before" in text and "window 2 of 5 was made before" in text
    assert "window 1 of 5: step" not in text and "window 2 of 5: step" not in text
    assert "window 3 of 5: step 1/2" in text or "window 3 of 5 was made before" in text
    assert seen_untouched is True
    assert not (tmp_path / ".long.mp4.windows").exists()  # gone once the output is written

    # and the resumed result is the one an uninterrupted run makes
    whole = tmp_path / "whole.mp4"
    done = subprocess.run(_command(whole), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    resumed, uninterrupted = _frames(output), _frames(whole)
    assert resumed.shape == uninterrupted.shape == (FRAMES, 64, 64, 3)
    np.testing.assert_array_equal(resumed, uninterrupted)
