"""Disabled commands look disabled (the menus and toolbar a user reads), and full screen is
entered and left with the keys a user presses: F, then F or Esc."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QToolBar

from editor import style
from editor.main_window import MainWindow
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project


@pytest.fixture
def styled_window(qtbot):
    """The main window under the editor's own style, as `kinora` starts it; the test app's
    style and palette come back afterwards."""
    app = QApplication.instance()
    old_style, old_palette = app.style().name(), app.palette()
    style.apply_style(app)
    window = MainWindow(new_project(160, 96, 24), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    yield window
    window.close()
    app.setStyle(old_style)
    app.setPalette(old_palette)
    app.setPalette(old_palette, "QMenu")


def brightest(image: QImage, rect: QRect | None = None) -> int:
    """The brightest grey level in `rect` of the image: the text, on the editor's dark panels."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    pixels = pixels[:, : image.width() * 3].reshape(image.height(), image.width(), 3).mean(axis=2)
    if rect is not None:
        pixels = pixels[rect.top(): rect.bottom() + 1, rect.left(): rect.right() + 1]
    return int(pixels.max())


def test_the_disabled_palette_group_is_dimmed(styled_window):
    palette = QApplication.instance().palette()
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.Button):
        active = palette.color(QPalette.ColorGroup.Active, role)
        disabled = palette.color(QPalette.ColorGroup.Disabled, role)
        assert active != disabled, role
    assert palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).lightness() < \
        palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText).lightness() - 60


def test_a_disabled_menu_entry_and_button_are_drawn_dimmer_than_enabled_ones(qtbot, styled_window):
    w = styled_window
    edit_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Edit")
    undo, preferences = w.timeline_actions.undo, next(a for a in edit_menu.actions() if "Preferences" in a.text())
    assert not undo.isEnabled() and preferences.isEnabled()  # nothing to undo yet
    edit_menu.popup(w.mapToGlobal(w.rect().center()))
    qtbot.waitExposed(edit_menu)
    shot = edit_menu.grab().toImage()
    dimmed = brightest(shot, edit_menu.actionGeometry(undo))
    bright = brightest(shot, edit_menu.actionGeometry(preferences))
    edit_menu.close()
    assert bright > 180 and dimmed < 140, (bright, dimmed)
    # a push button, disabled and then enabled: its label is drawn in the dimmed colour
    button = QPushButton("Generate", w)
    button.setEnabled(False)
    button.show()
    disabled_label = brightest(button.grab().toImage())
    button.setEnabled(True)
    enabled_label = brightest(button.grab().toImage())
    assert enabled_label - disabled_label > 50, (enabled_label, disabled_label)
    # the toolbar's Undo button brightens once there is something to undo
    toolbar_undo = w.findChild(QToolBar, "EditToolbar").widgetForAction(w.timeline_actions.undo_tool)
    before = brightest(toolbar_undo.grab().toImage())
    track = w.project.timeline.tracks_of("prompt")[0]
    w.document.perform("Add", lambda p: edits.insert(p, track.id, TextBlock("t1", 0, 10, "a")))
    assert toolbar_undo.isEnabled()
    assert brightest(toolbar_undo.grab().toImage()) - before > 50


@pytest.mark.parametrize("leave_key", [Qt.Key.Key_F, Qt.Key.Key_Escape])
def test_f_enters_full_screen_and_f_or_escape_leaves_it(qtbot, styled_window, leave_key):
    w = styled_window
    screen = w.preview.screen
    w.timeline.view.setFocus()
    QTest.keyClick(w.timeline.view, Qt.Key.Key_F)  # the Playback menu's shortcut, from the timeline
    assert screen.isFullScreen() and screen.isWindow()
    qtbot.waitUntil(screen.hasFocus)
    QTest.keyClick(QApplication.focusWidget(), leave_key)  # the key goes where the keyboard focus is
    assert not screen.isFullScreen() and not screen.isWindow() and screen.parent() is w.preview
    qtbot.waitUntil(w.isActiveWindow)  # the main window has the keyboard again
    QTest.keyClick(w.timeline.view, Qt.Key.Key_F)  # and F enters again
    assert screen.isFullScreen()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F)
    assert not screen.isFullScreen()


def test_an_open_menu_stands_out_from_the_panel_under_it(qtbot, styled_window):
    w = styled_window
    edit_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Edit")
    grid = w.library.grid  # the Library's tile area: the grey of the timeline's lanes, and once of menus too
    edit_menu.popup(grid.mapToGlobal(grid.rect().center()))
    qtbot.waitExposed(edit_menu)
    menu_shot, panel_shot = edit_menu.grab().toImage(), grid.grab().toImage()
    edit_menu.close()
    menu_background = menu_shot.pixelColor(menu_shot.width() - 4, menu_shot.height() // 2)
    panel_background = panel_shot.pixelColor(panel_shot.width() // 2, panel_shot.height() // 2)
    assert menu_background.lightness() - panel_background.lightness() >= 8, (menu_background.name(),
                                                                             panel_background.name())
