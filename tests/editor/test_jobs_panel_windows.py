"""A running chained job's row says which window it is at and shows its preview: the middle
frame of the several-frame pictures the sampler and a finished window send."""

from __future__ import annotations

import numpy as np
import pytest

from editor.bridge import JobBridge
from editor.jobs_panel import JobsPanel, preview_pixmap
from engine.generate import requests as rq
from engine.jobs.request_job import job_params

PROMPT = "a red circle moving right on a black background"


def _shown(pixmap) -> np.ndarray:
    """The pixmap's pixels as an (H, W, 3) array."""
    image = pixmap.toImage()
    return np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())]
                     for y in range(image.height())], np.uint8)


def _cells(picture: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """The shown pixel at the centre of each of `picture`'s pixels (enlarged without smoothing)."""
    h, w = picture.shape[:2]
    ys = ((np.arange(h) + 0.5) * shown.shape[0] / h).astype(int)
    xs = ((np.arange(w) + 0.5) * shown.shape[1] / w).astype(int)
    return shown[ys][:, xs]


def test_a_preview_of_several_frames_shows_its_middle_one(qapp):
    frames = np.zeros((5, 8, 16, 3), np.uint8)
    for i in range(5):
        frames[i, :, :, i % 3] = 40 * (i + 1)  # each frame its own colour
    frames[2, :4, :8] = (250, 250, 250)  # the middle one's top-left quarter white
    pixmap = preview_pixmap(frames)
    assert (pixmap.width(), pixmap.height()) == (160, 80)  # as wide as asked, the frame's shape kept
    np.testing.assert_array_equal(_cells(frames[2], _shown(pixmap)), frames[2])


@pytest.fixture
def panel(qtbot, tmp_path):
    bridge = JobBridge(str(tmp_path / "library.sqlite"))
    panel = JobsPanel(bridge)
    qtbot.addWidget(panel)
    panel.show()
    yield panel
    bridge.stop()


def test_a_chained_job_row_says_its_window_and_shows_each_windows_preview(qtbot, panel, tmp_path):
    seen = []  # (what the row says, the preview sent, what the row shows) after each progress report

    def look(job_id: int, progress) -> None:  # connected after the panel: the row is up to date
        _, row = panel.rows[job_id]
        shown = _shown(row.preview.pixmap()) if row.preview.isVisible() else None
        seen.append((row.state.text(), progress.preview, shown))

    panel.bridge.jobProgress.connect(look)
    panel.bridge.start()
    request = rq.Generate(output=str(tmp_path / "long.mp4"), prompt=PROMPT, frames=57,
                          sampling=rq.Sampling(seed=3, steps=2))  # the bundled model: 2 windows of 33 frames
    job = panel.bridge.submit(request.tool, job_params(request))
    row = panel.rows[job.id][1]
    qtbot.waitUntil(lambda: row.job.state in ("done", "failed"), timeout=300_000)
    assert row.job.state == "done", row.job.error
    texts = [text for text, _, _ in seen]
    assert "running — window 1 of 2: step 1/2" in texts and "running — window 2 of 2: step 2/2" in texts
    assert "running — window 1 of 2 done" in texts and "running — window 2 of 2 done" in texts
    previews = [(text, sent, shown) for text, sent, shown in seen if sent is not None]
    assert {sent.ndim for _, sent, _ in previews} == {4}  # every preview is several frames
    for text, sent, shown in previews:
        middle = sent[len(sent) // 2]
        assert shown.shape[1] == 160 and shown.shape[0] == round(160 * middle.shape[0] / middle.shape[1]), text
        np.testing.assert_array_equal(_cells(middle, shown), middle[..., :3], err_msg=text)
    window_done = [sent for text, sent, _ in previews if text.endswith(" done")]
    assert len(window_done) == 2 and all(sent.shape[1:] == (64, 64, 3) for sent in window_done)
    # once a window's decoded frames are in view, the next window's steps keep them there
    first_done = texts.index("running — window 1 of 2 done")
    later_steps = [(sent, shown) for text, sent, shown in seen[first_done + 1:] if "window 2 of 2: step" in text]
    assert later_steps and all(sent is None for sent, _ in later_steps)
    assert all(np.array_equal(shown, seen[first_done][2]) for _, shown in later_steps)
