"""Titles, transforms and speed from the editor: Add Title with its shortcut, every edit through
the Inspector's own widgets with real key and mouse events, the result in the exported file."""

from __future__ import annotations

import av
import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine.media.export import RenderSettings, export
from engine.model.titles import Title
from engine.time import FrameRange
from tests.editor import test_timeline_editing

window = test_timeline_editing.window  # c1 at frames 24..72 and c2 at 120..168 on V1, V2 empty above


def type_into(widget, text: str) -> None:
    """Replace a field's text as a user would: click, select all, type, Enter."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
    QTest.keySequence(widget, QKeySequence.StandardKey.SelectAll)
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key.Key_Return)


def choose(qtbot, combo, text: str) -> None:
    """Pick an entry of a combo box with the mouse: open its list, click the entry."""
    QTest.mouseClick(combo, Qt.MouseButton.LeftButton)
    popup = combo.view()
    qtbot.waitUntil(popup.isVisible)
    # the list ignores a release sooner than a double-click interval after it opened (as for a person)
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    index = combo.model().index(combo.findText(text), 0)
    QTest.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=popup.visualRect(index).center())
    qtbot.waitUntil(lambda: not popup.isVisible())


def spin_field(spin):
    return spin.lineEdit() if hasattr(spin, "lineEdit") else spin


def test_add_a_title_with_ctrl_t_edit_it_in_the_inspector_and_export_it(qtbot, window, tmp_path):
    w, view = window, window.timeline.view
    timeline_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Timeline")
    assert "Add &Title" in [a.text() for a in timeline_menu.actions()]
    view.set_playhead(100)
    QTest.keySequence(w, QKeySequence("Ctrl+T"))
    titles = [(track, item) for track, item in w.project.timeline.items() if isinstance(item, Title)]
    assert len(titles) == 1
    track, title = titles[0]
    assert (track.name, title.start) == ("V2", 100)  # the first (top) video track with room
    assert view.selected_ids() == [title.id]
    assert view.graphics[title.id].title == "T  Title"  # a titled bar on the timeline
    panel = w.inspector.effects.title
    assert panel.isVisible() and not w.inspector.effects.transform.isVisible()

    QTest.mouseClick(panel.text.viewport(), Qt.MouseButton.LeftButton)
    QTest.keySequence(panel.text, QKeySequence.StandardKey.SelectAll)
    QTest.keyClicks(panel.text, "KINORA")
    type_into(spin_field(panel.size), "40")
    choose(qtbot, panel.anchor, "top-left")  # the anchor preset moves it to (0.1, 0.1)
    QTest.mouseClick(panel.color, Qt.MouseButton.LeftButton)
    dialog = panel.color.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.setCurrentColor(QColor("#ff2020"))
    QTest.keyClick(dialog, Qt.Key.Key_Return)
    title = w.project.timeline.find(title.id)[1]
    assert (title.text, title.size, title.anchor, title.x, title.y, title.color) == \
        ("KINORA", 40, "top-left", 0.1, 0.1, "#ff2020")
    assert view.graphics[title.id].title == "T  KINORA"

    out = tmp_path / "title.mp4"
    export(w.project, out, RenderSettings(frame_range=FrameRange(100, 102), preset="ultrafast", crf=10, audio=False))
    with av.open(str(out)) as container:
        picture = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    red = (picture[..., 0] > 150) & (picture[..., 1] < 100) & (picture[..., 2] < 100)
    rows, cols = np.nonzero(red)
    assert red.sum() > 200
    # at the top-left anchor (128, 72) of the 1280x720 canvas, 40 px letters
    assert rows.min() >= 68 and rows.max() < 72 + 48 and cols.min() >= 124 and cols.max() < 128 + 6 * 40
    w.timeline_actions.undo.trigger()  # the colour
    assert w.project.timeline.find(title.id)[1].color == "#ffffff"

    # no video track has room at the playhead (V2 holds the title, V1 the clip c2): a new track on top
    QTest.keySequence(w, QKeySequence("Ctrl+T"))
    top = w.project.timeline.tracks_of("video")[0]
    assert top.name == "V3" and isinstance(top.items[0], Title) and top.items[0].start == 100
    w.timeline_actions.undo.trigger()  # one step: the title and its track
    assert [t.name for t in w.project.timeline.tracks_of("video")] == ["V2", "V1"]


def test_transform_and_speed_of_a_clip_from_the_inspector(qtbot, window):
    w, view = window, window.timeline.view
    view.select_ids(["c1"])
    effects = w.inspector.effects
    assert effects.transform.isVisible() and effects.speed_box.isVisible() and not effects.title.isVisible()
    type_into(spin_field(effects.transform.spins["scale"]), "50")
    clip = w.project.timeline.find("c1")[1]
    assert clip.transform.scale.at(0) == 0.5 and not clip.transform.scale.animated
    QTest.mouseClick(effects.transform.keyframe, Qt.MouseButton.LeftButton)
    assert effects.transform.keyframe.isChecked()
    view.set_playhead(24)
    type_into(spin_field(effects.transform.spins["x"]), "-25")
    view.set_playhead(71)
    type_into(spin_field(effects.transform.spins["x"]), "25")
    clip = w.project.timeline.find("c1")[1]
    assert clip.transform.x.keys == ((0.0, -0.25), (47.0, 0.25))
    assert abs(clip.transform.x.at(23.5)) < 1e-9
    view.set_playhead(24 + 47 // 2)  # the panel shows the value at the playhead, between the keys
    assert abs(effects.transform.spins["x"].value() - 100 * clip.transform.x.at(23)) < 0.05
    type_into(spin_field(effects.speed), "200")
    clip = w.project.timeline.find("c1")[1]
    assert (clip.speed, clip.range) == (2.0, FrameRange(24, 48))
    effects.ensureWidgetVisible(effects.reverse)
    QTest.mouseClick(effects.reverse, Qt.MouseButton.LeftButton, pos=QPoint(8, effects.reverse.height() // 2))
    assert w.project.timeline.find("c1")[1].reverse
    w.timeline_actions.undo.trigger()
    w.timeline_actions.undo.trigger()
    assert w.project.timeline.find("c1")[1].range == FrameRange(24, 72)
    QTest.mouseClick(effects.transform.reset, Qt.MouseButton.LeftButton)
    assert w.project.timeline.find("c1")[1].transform.is_identity
