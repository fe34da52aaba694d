"""The timeline's kept block pictures (editor/timeline/block_pictures.py): a repaint or a scroll
draws blocks from them, and any change of what a block shows (gain, fade, selection, a waveform
or thumbnail arriving, a move) is drawn anew, never a stale picture."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPixmap

from editor.main_window import MainWindow
from editor.timeline.graphics import PICTURES
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from tests.media.audio_factory import tone, write_wav
from tests.media.media_factory import write_video

RATE = 24


def _project(tmp_path):
    wav = write_wav(tmp_path / "tone.wav", tone(4.0, 0.6))
    mp4 = write_video(tmp_path / "picture.mp4", [np.full((36, 64, 3), 90, np.uint8)] * 24, rate=RATE)
    project = new_project(160, 96, RATE)
    edits.add_media(project, MediaRef("t", str(wav), "audio"))
    edits.add_media(project, MediaRef("v", str(mp4), "video", num_frames=24, rate=FrameRate(RATE), width=64,
                                      height=36))
    track = project.timeline.tracks_of("audio")[0].id
    for n in range(40):
        edits.insert(project, track, Clip(f"c{n}", n * 30, "t", FrameRange(0, 28), fade_in=4 * (n % 3)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("v1", 30, "v", FrameRange(0, 24)))
    return project


def _window(qtbot, project):
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    view = window.timeline.view
    view.setMinimumHeight(260)  # every track in view
    view.set_zoom(3.0, 0)
    # everything made in the background has arrived (each arrival changes what its block shows)
    qtbot.waitUntil(lambda: all(g.waveform is not None for g in view.graphics.values() if g.sounds)
                    and view.graphics["v1"].thumbnail is not None, timeout=20_000)
    return window, view


def _pixels(view) -> np.ndarray:
    view.viewport().repaint()
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).copy()


def test_repaint_and_scroll_draw_kept_pictures(qtbot, tmp_path):
    window, view = _window(qtbot, _project(tmp_path))
    first = _pixels(view)
    made = PICTURES.made
    assert np.array_equal(_pixels(view), first)
    assert PICTURES.made == made  # the second repaint drew every block from its picture
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + 90)  # 30 frames: one block leaves, one comes in
    _pixels(view)
    assert 0 < PICTURES.made - made <= 2
    bar.setValue(bar.value() - 90)
    assert np.array_equal(_pixels(view), first)  # back where it was: the same pixels


def test_every_change_of_a_block_is_drawn(qtbot, tmp_path):
    window, view = _window(qtbot, _project(tmp_path))
    red = QPixmap(40, 24)
    red.fill(QColor(250, 20, 20))
    changes = {
        "gain": lambda: window.document.perform("Gain", lambda p: edits.set_clip_audio(p, "c1", gain_db=-12.0)),
        "fade": lambda: window.document.perform("Fade", lambda p: edits.set_clip_audio(p, "c2", fade_out=9)),
        "selection": lambda: view.select_ids(["c3"]),
        "thumbnail": lambda: setattr(view.graphics["v1"], "thumbnail", red),
        "waveform gone": lambda: view.graphics["c4"].set_waveform(None, None),
        "move": lambda: window.document.perform("Move", lambda p: edits.move(p, "c5", 152)),
    }
    for name, change in changes.items():
        before = _pixels(view)
        change()
        changed = _pixels(view)
        assert not np.array_equal(changed, before), name
        PICTURES.clear()  # the same state drawn with no picture kept from before the change
        assert np.array_equal(_pixels(view), changed), name

    # the pictures look like the blocks drawn directly (up to rounding where antialiased edges
    # and translucent waveforms are blended over a picture instead of over the lane)
    PICTURES.enabled = False
    try:
        direct = _pixels(view)
    finally:
        PICTURES.enabled = True
    difference = np.abs(direct.astype(int) - _pixels(view).astype(int)).max(axis=2)
    assert (difference > 2).mean() < 0.005 and (difference > 0).mean() < 0.02
