"""The Library: imported media and generations, search, favourites, folders, and dragging an
entry onto the timeline."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from editor.library.panel import ENTRY_ROLE, PATH_ROLE
from editor.main_window import MainWindow
from editor.timeline.drop import MEDIA_MIME
from editor.timeline.view import track_rows
from engine.library.catalog import GenerationRecord
from engine.model.project import new_project
from tests.media.media_factory import index_video


def test_library_lists_searches_organises_and_drags_onto_the_timeline(qtbot, tmp_path):
    shot, fox = tmp_path / "shot.mp4", tmp_path / "fox.mp4"
    index_video(shot, 20, rate=24)
    index_video(fox, 30, rate=24)
    window = MainWindow(new_project(160, 96, 24), start_worker=False)
    qtbot.addWidget(window)
    panel = window.library
    panel.library.add_media(str(shot))
    panel.library.add_generation(GenerationRecord(tool="generate", output_path=str(fox),
                                                  prompts=[{"start": None, "stop": None, "text": "a red fox in snow"}],
                                                  model_id="toyworld", seeds=[5]))
    panel.refresh()
    paths = [panel.grid.item(i).data(PATH_ROLE) for i in range(panel.grid.count())]
    assert paths == [str(fox), str(shot)]  # generations first, newest first
    panel.search.setText("fox sn")  # words while typing: the last one is a prefix
    assert [panel.grid.item(i).data(PATH_ROLE) for i in range(panel.grid.count())] == [str(fox)]
    panel.search.clear()
    kind, entry_id = panel.grid.item(0).data(ENTRY_ROLE)
    panel.toggle_favourite(kind, entry_id)
    panel.show_combo.setCurrentText("Favourites")
    assert [panel.grid.item(i).data(PATH_ROLE) for i in range(panel.grid.count())] == [str(fox)]
    folder = panel.library.add_folder("Tests")
    panel.show_combo.setCurrentText("All")
    panel.move_to_folder("media", panel.library.list_media()[0]["id"], folder)
    panel._fill_folders()
    panel.folder_combo.setCurrentIndex(panel.folder_combo.findData(folder))
    assert [panel.grid.item(i).data(PATH_ROLE) for i in range(panel.grid.count())] == [str(shot)]
    # drag the generation from the library onto V1 at frame 12
    panel.folder_combo.setCurrentIndex(0)
    item = next(panel.grid.item(i) for i in range(panel.grid.count()) if panel.grid.item(i).data(PATH_ROLE) == str(fox))
    mime = panel.grid.mimeData([item])
    assert bytes(mime.data(MEDIA_MIME)).decode() == str(fox)
    view = window.timeline.view
    top = next(top for track, top, _ in track_rows(window.project) if track.kind == "video")
    at = QPointF(view.view_x_of(12) + 1, view.mapFromScene(QPointF(0, top + 20)).y())
    dropped = QMimeData()
    dropped.setData(MEDIA_MIME, mime.data(MEDIA_MIME))
    for event in (QDragEnterEvent(at.toPoint(), Qt.DropAction.CopyAction, dropped, Qt.MouseButton.LeftButton,
                                  Qt.KeyboardModifier.NoModifier),
                  QDropEvent(at, Qt.DropAction.CopyAction, dropped, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier)):
        QApplication.sendEvent(view.viewport(), event)
    [clip] = window.project.timeline.tracks_of("video")[0].items
    assert clip.start == 12 and clip.range.duration == 30
    assert clip.generation["seed"] == 5 and clip.generation["prompt"] == "a red fox in snow"


def test_hovering_scrubs_through_the_thumbnails(qtbot, tmp_path):
    shot = tmp_path / "shot.mp4"
    index_video(shot, 48, rate=24)
    window = MainWindow(new_project(160, 96, 24), start_worker=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    panel = window.library
    panel.library.add_media(str(shot))
    panel.refresh()
    item = panel.grid.item(0)
    requested = []
    original = panel._request_thumbnail
    panel._request_thumbnail = lambda item, frame: (requested.append(frame), original(item, frame))
    rect = panel.grid.visualItemRect(item)
    for fraction in (0.02, 0.5, 0.98):  # the pointer moves across the entry from left to right
        QTest.mouseMove(panel.grid.viewport(), rect.topLeft() + QPoint(int(rect.width() * fraction), rect.height() // 2))
    assert requested[-3:][0] <= 1 and 22 <= requested[-2] <= 26 and requested[-1] >= 45
    icon_before = item.icon().cacheKey()
    qtbot.waitUntil(lambda: item.icon().cacheKey() != icon_before, timeout=10_000)
