"""The window a new user sees at a laptop's 1280x800 and a desktop's 1920x1080: no text cut
short in the window or its dialogs, every toolbar button shown, and panels that can be made
narrow. (docs/screenshots/main-window-*.png are the same windows, from `make screenshots`.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QToolBar,
    QWidget,
)

from tests.editor.test_disabled_and_full_screen import styled_window  # noqa: F401 (fixture)

SIZES = [(1280, 800), (1920, 1080)]


def clipped(top: QWidget) -> list[str]:
    """Labels, buttons and combo boxes narrower than their text needs, empty fields narrower than
    their placeholder; wrapped labels lower than their lines need."""
    found = []
    for widget in top.findChildren(QWidget):
        if isinstance(widget, QLineEdit) and widget.isVisible() and not widget.text() and widget.placeholderText():
            # the hint an empty field shows, read whole (the frame and text margins around it)
            needed = widget.fontMetrics().horizontalAdvance(widget.placeholderText()) + 12
            if widget.width() < needed and not isinstance(widget.parent(), QAbstractSpinBox):
                found.append(f"QLineEdit placeholder {widget.placeholderText()!r}: {widget.width()} px of {needed}")
            continue
        if not widget.isVisible() or not isinstance(widget, (QLabel, QAbstractButton, QComboBox)):
            continue
        if isinstance(widget, QLabel) and widget.wordWrap():
            # a wrapped text needs the height of its lines at the width it has
            if widget.text() and widget.height() < widget.heightForWidth(widget.width()):
                found.append(f"QLabel {widget.text()!r}: {widget.height()} px high of "
                             f"{widget.heightForWidth(widget.width())}")
            continue
        needed = widget.minimumSizeHint().width()
        if widget.width() < needed:
            text = widget.currentText() if isinstance(widget, QComboBox) else widget.text()
            found.append(f"{type(widget).__name__} {text!r}: {widget.width()} px of {needed}")
    return found


def settle(qtbot, window, size) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().toTuple() == size)
    qtbot.wait(50)  # the docks take their first-start sizes on the next turn of the event loop


@pytest.mark.parametrize("size", SIZES)
def test_the_main_window_shows_every_text_and_button_whole(qtbot, styled_window, size):  # noqa: F811
    w = styled_window
    settle(qtbot, w, size)
    assert clipped(w) == []
    for toolbar in w.findChildren(QToolBar):
        for action in toolbar.actions():
            if action.isVisible() and not action.isSeparator():
                button = toolbar.widgetForAction(action)
                assert button is not None and button.isVisible(), f"{action.text()!r} pushed out of its toolbar"
    assert w.creation_bar.width() >= w.creation_bar.minimumSizeHint().width()
    # the side panels can be made narrower than their first-start width, the window smaller than a laptop's screen
    for dock in (w.library_dock, w.inspector_dock, w.curves_dock, w.jobs_dock):
        assert dock.minimumSizeHint().width() <= 300, dock.windowTitle()
    minimum = w.minimumSizeHint()
    assert minimum.width() <= 1280 and minimum.height() <= 800


@pytest.mark.parametrize("size", SIZES)
def test_dialogs_show_their_text_whole_and_fit_the_screen(qtbot, styled_window, size):  # noqa: F811
    w = styled_window
    settle(qtbot, w, size)
    seen = {}

    def inspect_and_close(name):
        dialog = QApplication.activeModalWidget()
        seen[name] = (dialog.minimumSizeHint(), clipped(dialog))
        dialog.reject()

    def open_modal(name, open_it):
        QTimer.singleShot(100, lambda: inspect_and_close(name))
        open_it()
        assert name in seen, f"{name} did not open"
        w.activateWindow()  # what the desktop does when a dialog closes (this test has no window manager)
        qtbot.waitUntil(w.isActiveWindow)

    w.timeline.view.setFocus()
    open_modal("Preferences", lambda: QTest.keyClick(w.timeline.view, Qt.Key.Key_Comma,
                                                     Qt.KeyboardModifier.ControlModifier))
    open_modal("Export", lambda: QTest.keyClick(w.timeline.view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier))
    help_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Help")
    for action in help_menu.actions():
        open_modal(action.text(), action.trigger)
    open_modal("Project Settings", w.files.project_settings_dialog)
    assert set(seen) == {"Preferences", "Export", "&Keyboard Shortcuts…", "&About Kinora", "Project Settings"}
    for name, (minimum, cut) in seen.items():
        assert cut == [], name
        assert minimum.width() <= size[0] and minimum.height() <= size[1], name


def _add_items_of_every_kind(window, tmp_path) -> list[str]:
    """A clip with sound on V1, a title on a track above it, a prompt block: the items whose
    Inspector sections differ most. Returns their ids."""
    import numpy as np

    from engine.media.ingest import media_ref_for
    from engine.model import edits, effect_edits
    from engine.model.items import Clip, TextBlock
    from engine.time import FrameRange
    from tests.media.audio_factory import tone
    from tests.media.media_factory import index_picture, write_video

    path = write_video(tmp_path / "sound.mp4", [index_picture(i, 160, 96) for i in range(48)], rate=24,
                       audio=tone(2.0).astype(np.float32))
    ref = media_ref_for(str(path))

    def title(project):
        return effect_edits.add_title(project, project.timeline.tracks_of("video")[0].id, 0, "A title",
                                      title_id="title", box=True)

    first_video, prompt = (window.project.timeline.tracks_of(kind)[0].id for kind in ("video", "prompt"))
    add = lambda project: edits.together(project, [  # noqa: E731
        lambda p: edits.add_media(p, ref),
        lambda p: edits.insert(p, first_video, Clip("clip", 0, ref.id, FrameRange(0, 48))),
        lambda p: edits.add_track(p, "video", "Titles"), title,
        lambda p: edits.insert(p, prompt, TextBlock("prompt", 0, 48, "a circle"))])
    assert window.document.perform("Add items", add)
    return ["clip", "title", "prompt"]


@pytest.mark.parametrize("size", SIZES)
def test_the_inspector_of_any_item_scrolls_inside_its_dock_and_never_resizes_the_window(
        qtbot, styled_window, tmp_path, size):  # noqa: F811
    """A clip with sound has the sound, transform, speed, opacity and transition sections, a title
    a dozen fields: at a laptop's size they scroll inside the dock; none of them makes the window
    taller than the screen, the dock wider than a side panel, or cuts a text short."""
    w = styled_window
    settle(qtbot, w, size)
    for name in _add_items_of_every_kind(w, tmp_path):
        w.inspector_dock.raise_()
        w.timeline.view.select_ids([name])
        # laid out at once, as the selection shows it: a click right after lands on whole fields
        squeezed = [f"{type(field).__name__} {getattr(field, 'text', lambda: '')()!r}"
                    for field in w.inspector.findChildren(QWidget)
                    if isinstance(field, (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox))
                    and field.isVisible() and not isinstance(field.parent(), QAbstractSpinBox)  # its own text field
                    and field.height() < field.minimumSizeHint().height()]
        assert squeezed == [], f"{name}: {squeezed}"
        qtbot.wait(50)
        assert w.inspector.isVisible(), name
        assert w.size().toTuple() == size, f"selecting the {name} resized the window to {w.size().toTuple()}"
        hint = w.inspector_dock.minimumSizeHint()
        assert hint.width() <= 300 and hint.height() <= 300, f"{name}: the Inspector needs {hint.toTuple()}"
        assert clipped(w) == [], name
        # one scroll bar for the whole Inspector: the effect panels inside it show whole
        effects = w.inspector.effects
        assert effects.verticalScrollBar().maximum() == 0, name
        assert effects.height() >= effects.widget().sizeHint().height(), name


@pytest.mark.parametrize("size", SIZES)
def test_the_start_page_shows_its_text_whole(qtbot, styled_window, tmp_path, size):  # noqa: F811
    from editor.session import show_start_page
    from engine.model.serialize import save_project
    from engine.user_settings import remember_project

    for name in ("a project with a rather long name for its column", "short"):
        save_project(styled_window.project, tmp_path / f"{name}.kinora")
        remember_project(str(tmp_path / f"{name}.kinora"))
    settle(qtbot, styled_window, size)
    page = show_start_page(styled_window)
    qtbot.waitExposed(page)
    assert page.recent.topLevelItemCount() == 2
    assert clipped(page) == []
    assert page.minimumSizeHint().width() <= size[0] and page.minimumSizeHint().height() <= size[1]
    page.close()
