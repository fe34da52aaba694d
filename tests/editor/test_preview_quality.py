"""Preview quality: the preview composites at the viewer's size (Auto), half the project's
(Half) or the project's (Full), chosen from the preview's context menu or the View menu and
remembered in the user's settings."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.main_window import MainWindow
from engine.media.compositor import render_frame
from engine.model import edits
from engine.model.effect_edits import add_title
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.time import FrameRange, FrameRate
from engine.user_settings import load_settings
from tests.media.media_factory import index_video

WIDTH, HEIGHT = 1280, 720


def _image_pixels(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_RGB888)
    return np.frombuffer(bytes(image.constBits()), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, : image.width() * 3].reshape(image.height(), image.width(), 3)


def _window(qtbot, tmp_path) -> MainWindow:
    source = tmp_path / "count.mp4"
    index_video(source, 24, width=WIDTH, height=HEIGHT, rate=24)
    project = new_project(WIDTH, HEIGHT, 24)
    edits.add_media(project, MediaRef("v", str(source), "video", num_frames=24, rate=FrameRate.parse(24)))
    edits.insert(project, project.timeline.tracks_of("video")[0].id, Clip("c", 0, "v", FrameRange(0, 24)))
    edits.add_track(project, "video", "Titles", track_id="titles", index=0)
    add_title(project, "titles", 0, "Quality", duration=24, size=96, box=True)
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.preview.screen.width() > WIDTH // 2 + 100)  # the layout has settled
    return window


def _shown(qtbot, preview, frame: int) -> np.ndarray:
    preview.seek(frame)
    qtbot.waitUntil(lambda: preview.frame == frame and preview.screen.image is not None and not preview._in_flight
                    and preview._pending is None, timeout=10_000)
    return _image_pixels(preview.screen.image)


def _choose_in_context_menu(qtbot, preview, label: str) -> None:
    """Right-click the picture, open Preview Quality, click `label`, as a user does."""
    chosen = []

    def click(menu, text):
        action = next(a for a in menu.actions() if a.text().replace("&", "").startswith(text))
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
        chosen.append(text)

    def open_quality():
        click(QApplication.activePopupWidget(), "Preview Quality")
        QTimer.singleShot(50, lambda: click(QApplication.activePopupWidget(), label))

    QTimer.singleShot(50, open_quality)
    screen = preview.screen
    centre = QPoint(screen.width() // 2, screen.height() // 2)
    QApplication.sendEvent(screen, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, screen.mapToGlobal(centre)))
    qtbot.waitUntil(lambda: len(chosen) == 2, timeout=5000)


def test_the_preview_composites_at_the_chosen_quality_and_remembers_it(qtbot, tmp_path):
    window = _window(qtbot, tmp_path)
    preview = window.preview
    assert preview.quality == "auto"  # the default
    viewer = preview.screen.size()
    assert WIDTH // 2 < viewer.width() < WIDTH and viewer.height() < HEIGHT  # between half and full size
    full = np.ascontiguousarray(render_frame(window.project, 5))

    auto = _shown(qtbot, preview, 5)
    scale = min(viewer.width() / WIDTH, viewer.height() / HEIGHT)
    assert auto.shape[:2] == (round(HEIGHT * scale), round(WIDTH * scale))  # the viewer's size
    expected = cv2.resize(full, (auto.shape[1], auto.shape[0]), interpolation=cv2.INTER_AREA)
    assert 10 * np.log10(255.0 ** 2 / np.mean((auto.astype(float) - expected) ** 2)) > 30

    _choose_in_context_menu(qtbot, preview, "Half")
    assert preview.quality == "half" and load_settings().preview_quality == "half"
    half = _shown(qtbot, preview, 6)
    assert half.shape[:2] == (HEIGHT // 2, WIDTH // 2)  # half the project's size: the screen enlarges it

    # Auto, from the View menu: a larger viewer gets a picture composited at its new size without a seek
    view_quality = next(a.menu() for a in window.view_menu.actions() if a.menu() is preview.quality_menu)
    next(a for a in view_quality.actions() if a.data() == "auto").trigger()
    qtbot.waitUntil(lambda: preview.screen.image.width() == auto.shape[1] and not preview._in_flight, timeout=10_000)
    window.resize(1900, 1150)
    qtbot.waitUntil(lambda: preview.screen.image.width() > auto.shape[1] and not preview._in_flight, timeout=10_000)
    grown = preview.screen.size()
    assert preview.screen.image.width() == round(WIDTH * min(grown.width() / WIDTH, grown.height() / HEIGHT, 1.0))

    # Full, from the View menu
    next(a for a in view_quality.actions() if a.data() == "full").trigger()
    assert preview.quality == "full" and load_settings().preview_quality == "full"
    shown_full = _shown(qtbot, preview, 5)
    # composited at the project's size, then fitted to the viewer as before preview quality existed
    assert np.array_equal(shown_full, cv2.resize(full, (shown_full.shape[1], shown_full.shape[0]),
                                                 interpolation=cv2.INTER_AREA))

    window.close()

    reopened = MainWindow(start_worker=False)
    qtbot.addWidget(reopened)
    assert reopened.preview.quality == "full"
    assert [a.data() for a in reopened.preview.quality_menu.actions() if a.isChecked()] == ["full"]
    reopened.close()
