"""The first window: titled Kinora, draws every track and item, appears without torch."""

from __future__ import annotations

import os
import subprocess
import sys

from editor.main_window import MainWindow
from editor.timeline.graphics import ItemGraphic
from engine.model.serialize import save_project
from tests.model.factories import rich_project

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_window_draws_the_projects_tracks_and_items(qtbot, tmp_path):
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "demo.kinora")
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.open_project(str(tmp_path / "demo.kinora"))
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "demo.kinora — Kinora"
    graphics = [g for g in window.timeline.view.scene().items() if isinstance(g, ItemGraphic)]
    expected = {item.id: item for _, item in project.timeline.items()}
    assert {g.item.id for g in graphics} == set(expected)
    view = window.timeline.view
    for graphic in graphics:  # the scene counts frames; the view scales them to pixels
        item = expected[graphic.item.id]
        assert graphic.x() == item.start and graphic.boundingRect().width() == item.range.duration
        assert view.view_x_of(item.start) == view.mapFromScene(graphic.scenePos()).x()
    # tracks are drawn top to bottom in display order
    tops = {}
    for graphic in graphics:
        tops.setdefault(graphic.track.id, graphic.y())
    order = [t.id for t in project.timeline.tracks if t.items]
    assert sorted(order, key=tops.get) == order


def test_a_bad_project_shows_a_message_not_a_crash(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    (tmp_path / "broken.kinora").write_text("[]")
    window = MainWindow()
    qtbot.addWidget(window)
    assert not window.open_project(str(tmp_path / "broken.kinora"))
    assert len(shown) == 1 and "broken.kinora is not a valid Kinora project" in shown[0]
    assert window.windowTitle() == "Untitled — Kinora"


def test_the_editor_starts_without_importing_torch(tmp_path):
    project = rich_project(root=str(tmp_path))
    save_project(project, tmp_path / "demo.kinora")
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from editor.main_window import MainWindow\n"
        "app = QApplication([])\n"
        f"w = MainWindow(); w.open_project({str(tmp_path / 'demo.kinora')!r}); w.show(); app.processEvents()\n"
        "print('torch' in sys.modules, 'diffusers' in sys.modules, w.windowTitle())\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False demo.kinora — Kinora"
