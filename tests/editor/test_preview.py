"""The preview shows the composited frame at the playhead and plays with the NLE keys."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.media.compositor import render_frame
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_video


def _image_pixels(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_RGB888)
    return np.frombuffer(bytes(image.constBits()), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, : image.width() * 3].reshape(image.height(), image.width(), 3)


def test_preview_follows_the_playhead_and_the_transport_keys(qtbot, tmp_path):
    source = tmp_path / "count.mp4"
    index_video(source, 48, width=160, height=96, rate=24)
    project = new_project(160, 96, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=48, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 48)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    preview = window.preview
    window.timeline.view.set_playhead(17)
    qtbot.waitUntil(lambda: preview.frame == 17 and preview.screen.image is not None and not preview._in_flight,
                    timeout=10_000)
    shown = _image_pixels(preview.screen.image)
    expected = render_frame(window.project, 17)
    assert shown.shape == expected.shape and np.abs(shown.astype(int) - expected).mean() < 2
    assert preview.timecode.text() == "00:00:00:17"
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Right)
    assert preview.frame == 18 and window.timeline.view.playhead == 18
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Left)
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Left)
    assert preview.frame == 16
    QTest.keyClick(window.timeline.view, Qt.Key.Key_L)
    assert preview.speed == 1
    QTest.keyClick(window.timeline.view, Qt.Key.Key_L)
    assert preview.speed == 2  # L again: faster
    qtbot.waitUntil(lambda: preview.frame > 20, timeout=10_000)
    QTest.keyClick(window.timeline.view, Qt.Key.Key_K)
    assert preview.speed == 0
    QTest.keyClick(window.timeline.view, Qt.Key.Key_J)
    assert preview.speed == -1
    QTest.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert preview.speed == 0
