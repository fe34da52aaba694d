"""Waveforms on clips with sound, and the gain line and fade handles dragged with the mouse."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint

from editor.main_window import MainWindow
from editor.timeline.audio_handles import (
    GAIN_VIEW_MAX_DB,
    GAIN_VIEW_MIN_DB,
    gain_fraction,
    item_rect,
    sound_band,
)
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange
from tests.editor.test_timeline_editing import drag
from tests.media.audio_factory import tone, write_wav

RATE = 24


def _window(qtbot, tmp_path):
    sound = np.concatenate([tone(2.0, 0.5), np.zeros((2, 96000), np.float32)], axis=1)  # 2 s of tone, 2 s silent
    wav = write_wav(tmp_path / "tone.wav", sound)
    project = new_project(160, 96, RATE)
    edits.add_media(project, MediaRef("t", str(wav), "audio"))
    edits.insert(project, project.timeline.tracks_of("audio")[0].id, Clip("c", 10, "t", FrameRange(0, 96)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    view = window.timeline.view
    view.set_zoom(6.0)
    view.horizontalScrollBar().setValue(0)
    graphic = view.graphics["c"]
    view.ensureVisible(graphic)
    return window, view, graphic


def test_waveform_is_drawn_from_the_files_peaks(qtbot, tmp_path):
    window, view, graphic = _window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: graphic.waveform is not None, timeout=10_000)  # made in the background
    rect = item_rect(view, graphic)
    columns = graphic._waveform_columns(int(rect.width()))
    half = len(columns) // 2
    assert np.allclose(columns[5:half - 5], 0.5, atol=0.01) and columns[half + 5:].max() < 0.01
    view.viewport().repaint()
    image = view.viewport().grab().toImage()
    band = sound_band(rect, "audio")
    middle = int(band.center().y())

    def brightness(x, y):
        colour = image.pixelColor(int(x), y)
        return colour.red() + colour.green() + colour.blue()

    # the tone half is filled around the middle line, the silent half is not
    loud = brightness(rect.left() + rect.width() * 0.25, middle + 3)
    quiet = brightness(rect.left() + rect.width() * 0.75, middle + 3)
    assert loud > quiet + 150
    # a second window on the same file reads its waveform from the disk cache
    from engine.media.waveform import waveform

    assert waveform(window.project.media["t"].path).from_cache


def test_dragging_the_gain_line_changes_the_gain_in_one_undo_step(qtbot, tmp_path):
    window, view, graphic = _window(qtbot, tmp_path)
    rect = item_rect(view, graphic)
    band = sound_band(rect, "audio")
    gain_y = band.bottom() - gain_fraction(0.0) * band.height()
    start = QPoint(int(rect.center().x()), round(gain_y))
    drag(view, start, start + QPoint(0, -8))
    clip = window.project.timeline.find("c")[1]
    expected = 8 * (GAIN_VIEW_MAX_DB - GAIN_VIEW_MIN_DB) / band.height()
    assert abs(clip.gain_db - expected) < 0.11 and clip.start == 10  # louder, not moved
    assert window.document.undo_stack.count() == 1
    window.document.undo_stack.undo()
    assert window.project.timeline.find("c")[1].gain_db == 0.0
    # the Inspector sets it too
    view.select_ids(["c"])
    window.inspector.sound.gain.setValue(-3.0)
    assert window.project.timeline.find("c")[1].gain_db == -3.0


def test_dragging_the_fade_handles_sets_the_fades(qtbot, tmp_path):
    window, view, graphic = _window(qtbot, tmp_path)
    rect = item_rect(view, graphic)
    ppf = view.pixels_per_frame
    top_left = QPoint(int(rect.left()) + 4, int(rect.top()) + 4)
    drag(view, top_left, top_left + QPoint(round(12 * ppf), 0))
    top_right = QPoint(int(rect.right()) - 4, int(rect.top()) + 4)
    drag(view, top_right, top_right - QPoint(round(6 * ppf), 0))
    clip = window.project.timeline.find("c")[1]
    assert (clip.fade_in, clip.fade_out, clip.start, clip.range.duration) == (12, 6, 10, 96)
    assert window.document.undo_stack.count() == 2
    window.document.undo_stack.undo()
    assert window.project.timeline.find("c")[1].fade_out == 0
    # the drawn waveform follows the fade: silent at the clip's first column
    qtbot.waitUntil(lambda: graphic.waveform is not None, timeout=10_000)
    columns = graphic._waveform_columns(int(rect.width()))
    assert columns[0] < 0.05 and abs(columns[int(rect.width() * 6 / 96)] - 0.25) < 0.05


def test_a_reversed_clip_s_waveform_runs_backwards(qtbot, tmp_path):
    from engine.model.effect_edits import set_speed

    window, view, graphic = _window(qtbot, tmp_path)
    qtbot.waitUntil(lambda: graphic.waveform is not None, timeout=10_000)
    window.document.perform("Reverse", lambda p: set_speed(p, "c", 2.0, reverse=True))
    graphic = view.graphics["c"]
    qtbot.waitUntil(lambda: graphic.waveform is not None, timeout=10_000)
    columns = graphic._waveform_columns(64)
    # the clip plays 2 s of silence first, then the tone: the waveform is drawn the same way round
    assert columns[:27].max() < 0.01 and np.allclose(columns[37:], 0.5, atol=0.01)
