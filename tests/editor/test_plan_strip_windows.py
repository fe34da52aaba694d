"""The plan strip marks where a range longer than the model makes at once is cut into windows:
a line at each window's start and a band over the frames two windows share, named on hover."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from editor.main_window import MainWindow
from engine.generate.models import resolve
from engine.generate.planning import planning_caps
from engine.generate.windows import window_layout
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project

PROMPT = "a red circle moving right on a black background"


def _long_project(frames: int = 200):
    project = new_project(64, 64, 24)
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock("t", 0, frames, PROMPT))
    return project


def _shown_window(qtbot, project) -> MainWindow:
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    view = window.timeline.view
    view.set_zoom(3.0, 0)
    view.horizontalScrollBar().setValue(0)
    return window


def _x_of(strip, frame: float) -> int:
    """Widget x of plan frame `frame` at the strip's zoom and scroll."""
    return round(strip.left_margin + strip.view.view_x_of(strip.plan.frame_range.start)
                 + frame * strip.view.pixels_per_frame)


def test_a_200_frame_timeline_shows_the_bundled_models_windows(qtbot):
    window = _shown_window(qtbot, _long_project())
    strip = window.timeline.plan_strip
    caps = planning_caps(resolve(None))  # the bundled model: windows of 33 frames sharing 9
    assert strip.caps == caps and caps.frames_per_window == 33
    layout = window_layout(strip.plan.num_frames, caps)
    assert strip.plan.num_frames == 201 and len(layout) == 8
    assert strip.drawn_window_starts() == [w.start for w in layout]
    assert strip.drawn_shared_spans() == [(w.start, w.first_new_frame) for w in layout[1:]]
    assert all(stop - start == 9 for start, stop in strip.drawn_shared_spans())

    # what a person sees: the start line of window 3 in its own colour, the shared band lighter
    # than the frames only one window makes
    qtbot.waitUntil(lambda: strip.isVisible() and strip.width() > _x_of(strip, layout[3].start) + 10)
    image = strip.grab().toImage()
    y = strip.height() - 3
    third = layout[2]
    line = QColor(image.pixel(_x_of(strip, third.start), y))
    inside_band = QColor(image.pixel(_x_of(strip, (third.start + third.first_new_frame) / 2), y))
    alone = QColor(image.pixel(_x_of(strip, third.first_new_frame + 4), y))
    assert line.red() > 200 and line.green() > 180, line.name()
    assert inside_band.lightness() > alone.lightness(), (inside_band.name(), alone.name())

    # hovering the band names the window that continues there; a frame made once names its window
    def tip_at(frame: float) -> str:
        x = _x_of(strip, frame)
        QTest.mouseMove(strip, QPoint(x, 20))
        QApplication.sendEvent(strip, QHelpEvent(QEvent.Type.ToolTip, QPoint(x, 20), strip.mapToGlobal(QPoint(x, 20))))
        return QToolTip.text()

    assert tip_at(third.start + 2.5) == (f"window 3 of 8: frames {third.start}-{third.stop - 1} "
                                         "(shares 9 frames with the one before)")
    assert tip_at(3.5) == f"window 1 of 8: frames 0-{layout[0].stop - 1}"
    assert strip.tooltip_at(strip.left_margin - 5).startswith("What the model will be told")


def test_a_marked_range_is_marked_by_its_own_windows_and_one_window_has_none(qtbot):
    window = _shown_window(qtbot, _long_project())
    strip, view = window.timeline.plan_strip, window.timeline.view
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    view.setFocus()

    def mark(first: int, last: int) -> None:
        view.set_playhead(first)
        QTest.keyClick(view, Qt.Key.Key_I)
        view.set_playhead(last)
        QTest.keyClick(view, Qt.Key.Key_O)
        assert (view.mark_in, view.mark_out) == (first, last)

    mark(40, 140)
    layout = window_layout(strip.plan.num_frames, strip.caps)
    assert strip.plan.frame_range.start == 40 and len(layout) == 4
    assert strip.drawn_window_starts() == [w.start for w in layout]
    assert strip.tooltip_at(_x_of(strip, 0.5)) == f"window 1 of 4: frames 40-{40 + layout[0].stop - 1}"
    # a range the model makes at once: nothing to mark
    mark(40, 60)
    assert strip.plan.num_frames == 21
    assert strip.drawn_window_starts() == [] and strip.drawn_shared_spans() == []
    assert strip.tooltip_at(_x_of(strip, 5)).startswith("What the model will be told")
