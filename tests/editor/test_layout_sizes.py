"""The window a new user sees at a laptop's 1280x800 and a desktop's 1920x1080: no text cut
short in the window or its dialogs, every toolbar button shown, and panels that can be made
narrow. (docs/screenshots/main-window-*.png are the same windows, from `make screenshots`.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLabel, QToolBar, QWidget

from tests.editor.test_disabled_and_full_screen import styled_window  # noqa: F401 (fixture)

SIZES = [(1280, 800), (1920, 1080)]


def clipped(top: QWidget) -> list[str]:
    """Labels, buttons and combo boxes narrower than their text needs."""
    found = []
    for widget in top.findChildren(QWidget):
        if not widget.isVisible() or not isinstance(widget, (QLabel, QAbstractButton, QComboBox)):
            continue
        if isinstance(widget, QLabel) and widget.wordWrap():
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
    assert set(seen) == {"Preferences", "Export", "&Keyboard Shortcuts…", "&About Kinora"}
    for name, (minimum, cut) in seen.items():
        assert cut == [], name
        assert minimum.width() <= size[0] and minimum.height() <= size[1], name
