"""The Library as a place to work from: generations made by running a tiny model, then reused,
re-run, extended, compared, renamed, trashed (and brought back) and read, all with the mouse
and keys on the main window."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

from editor.library.panel import ENTRY_ROLE, PATH_ROLE, TAKES_ROLE
from editor.main_window import MainWindow
from engine.generate import requests as rq
from engine.library.catalog import GenerationRecord, Library
from engine.model.project import new_project
from tests.generate.tiny_models import save_tiny_ltx

PROMPT = "a red circle moving right"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


def _generate(model, folder, *, variations: int = 1, seed: int = 7) -> list[str]:
    """Real outputs and library records: the tiny model run through the executor, as a job would."""
    from engine.generate.executor import execute

    sampling = rq.Sampling(seed=seed, steps=2, variations=variations, model=str(model))
    base = rq.Generate(output=str(folder / "take.mp4"), prompt=PROMPT, frames=9, size=rq.Size(width=32, height=32),
                       sampling=sampling)
    request = base if variations == 1 else rq.Variations(output=base.output, base=base, sampling=sampling)
    return execute(request)


def _window(qtbot) -> MainWindow:
    window = MainWindow(new_project(32, 32, 24), start_worker=False)  # jobs stay queued: the test reads them
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    window.library.refresh()
    return window


def _click_tile(window, path: str) -> None:
    grid = window.library.grid
    item = next(grid.item(i) for i in range(grid.count()) if grid.item(i).data(PATH_ROLE) == path)
    grid.scrollToItem(item)
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     grid.visualItemRect(item).center())
    assert grid.currentItem() is item


def _click(window, name: str) -> None:
    button = window.library.recipe.buttons[name]
    assert button.isEnabled(), name
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def _answer_next_dialog(text: str | None, replace_text: bool = True) -> None:
    """When the next input dialog opens, type `text` into it (after selecting what is there) and
    press Enter, as a person would."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(20, answer)
            return
        editor = dialog.findChild(QLineEdit)
        if replace_text:
            QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            QTest.keyClick(editor, Qt.Key.Key_Delete)
        if text:
            QTest.keyClicks(editor, text)
        QTest.keyClick(editor, Qt.Key.Key_Return)

    QTimer.singleShot(20, answer)


def _choose_in_popup(index: int) -> None:
    """When the next popup menu opens, go down to entry `index` with the arrow keys and press Enter."""
    def choose():
        menu = QApplication.activePopupWidget()
        if menu is None or not menu.isVisible():
            QTimer.singleShot(20, choose)
            return
        for _ in range(index + 1):
            QTest.keyClick(menu, Qt.Key.Key_Down)
        QTest.keyClick(menu, Qt.Key.Key_Return)

    QTimer.singleShot(20, choose)


def _queued_requests(window) -> list:
    return [rq.request_from_json(job.params["request"]) for job in sorted(window.bridge.jobs(), key=lambda j: j.id)]


def test_the_tooltip_and_the_recipe_pane_show_real_frames_and_the_seed(qtbot, tmp_path, tiny_model):
    [output] = _generate(tiny_model, tmp_path, seed=41)
    window = _window(qtbot)
    library = window.library.library
    old = library.add_generation(GenerationRecord(  # a record from before prompts carried their span
        tool="generate", output_path=output, prompts=[{"start": None, "stop": None, "text": "an old one"}],
        plan_summary={"num_frames": 24}, seeds=[3]))
    window.library.refresh()
    grid = window.library.grid
    tips = {grid.item(i).data(ENTRY_ROLE)[1]: grid.item(i).toolTip() for i in range(grid.count())}
    new = next(i for i in tips if i != old)
    assert f"frames 0–8: {PROMPT}" in tips[new] and "None" not in tips[new]
    assert "frames 0–23: an old one" in tips[old]
    record = library.generation(new)
    _click_tile(window, output)
    window.library.select_entry("generation", new)
    text = window.library.recipe.text.toPlainText()
    assert "Seed: 41" in text and f"Weights hash: {record['weights_hash']}" in text
    assert "Size: 32×32, 9 frames" in text and "Tool: generate" in text and f"Output: {output}" in text
    _click(window, "copy")
    assert QApplication.clipboard().text() == text


def test_reuse_fills_the_creation_bar_and_rerun_queues_the_stored_request(qtbot, tmp_path, tiny_model):
    [output] = _generate(tiny_model, tmp_path, seed=12)
    window = _window(qtbot)
    record = window.library.library.generation_for_output(output)
    _click_tile(window, output)
    _click(window, "reuse")
    bar = window.creation_bar
    assert bar.prompt.text() == PROMPT
    assert bar.model.currentData() == str(tiny_model) and bar.steps.value() == 2
    assert bar.duration.value() == pytest.approx(9 / 24, abs=0.01)  # the spin box shows hundredths
    _click(window, "rerun")
    [request] = _queued_requests(window)
    stored = rq.request_from_json(record["settings"]["request"])
    assert request.sampling.seed == 12
    assert request.output != stored.output and not os.path.exists(request.output)  # the original stays
    assert replace(request, output=stored.output) == stored


def test_takes_share_one_tile_step_through_and_compare_side_by_side(qtbot, tmp_path, tiny_model):
    first, second = _generate(tiny_model, tmp_path, variations=2, seed=20)
    window = _window(qtbot)
    grid = window.library.grid
    assert grid.count() == 1
    tile = grid.item(0)
    assert len(tile.data(TAKES_ROLE)) == 2 and tile.text().startswith("2 takes · ")
    _click_tile(window, first)
    pane = window.library.recipe
    assert pane.take_label.text() == "take 1 of 2" and "Seed: 20" in pane.text.toPlainText()
    QTest.mouseClick(pane.next_take, Qt.MouseButton.LeftButton)
    assert tile.data(PATH_ROLE) == second and pane.take_label.text() == "take 2 of 2"
    assert "Seed: 21" in pane.text.toPlainText()
    # re-running the second take makes that take again: its own seed, one variation
    _click(window, "rerun")
    [request] = _queued_requests(window)
    assert (request.sampling.seed, request.sampling.variations) == (21, 1)
    QTest.mouseClick(pane.next_take, Qt.MouseButton.LeftButton)
    assert tile.data(PATH_ROLE) == first
    _click(window, "compare")
    dialog = window.library.compare_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.paths == [first, second]
    assert all(not view.pixmap().isNull() and view.pixmap().width() == 360 for view in dialog.views)
    before = [view.pixmap().toImage() for view in dialog.views]
    assert before[0] != before[1]  # two different takes, not one picture twice
    QTest.keyClick(dialog.slider, Qt.Key.Key_End)
    assert dialog.frame_label.text() == "frame 8 / 8"
    assert [view.pixmap().toImage() for view in dialog.views] != before
    QTest.mouseClick(dialog.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.slider.value() != 8)  # playing wraps round to the start
    dialog.accept()


def test_extend_loop_remix_upscale_from_a_library_item_queue_requests_on_its_file(qtbot, tmp_path, tiny_model,
                                                                                 monkeypatch):
    [output] = _generate(tiny_model, tmp_path)
    window = _window(qtbot)
    _click_tile(window, output)
    _choose_in_popup(0)  # Extend forwards…
    _answer_next_dialog("the circle keeps going", replace_text=True)
    _click(window, "tools")
    qtbot.waitUntil(lambda: len(window.bridge.jobs()) == 1, timeout=20_000)
    _choose_in_popup(2)  # Loop…
    _answer_next_dialog(None, replace_text=False)  # keep the item's own prompt
    _click(window, "tools")
    qtbot.waitUntil(lambda: len(window.bridge.jobs()) == 2, timeout=20_000)
    _choose_in_popup(4)  # Remix (mild)…
    _answer_next_dialog("a green circle")
    _click(window, "tools")
    qtbot.waitUntil(lambda: len(window.bridge.jobs()) == 3, timeout=20_000)
    asked = []  # an upscale to 720p on this CPU is long: the window asks first, and the user says yes
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    _choose_in_popup(6)  # Upscale
    _click(window, "tools")
    qtbot.waitUntil(lambda: len(window.bridge.jobs()) == 4, timeout=20_000)
    extend, loop, remix, upscale = _queued_requests(window)
    assert isinstance(remix, rq.Remix) and remix.strength == 0.5 and remix.prompt == "a green circle"
    assert isinstance(upscale, rq.Upscale) and upscale.size.resolution == "720p"
    assert asked and "upscale" in asked[0]
    assert {r.clip.source_path() for r in (remix, upscale)} == {os.path.abspath(output)}
    assert isinstance(extend, rq.Extend) and extend.direction == "forward"
    assert extend.prompt == "the circle keeps going" and extend.place is None  # the result goes to the Library
    assert extend.clip.source_path() == os.path.abspath(output)
    project, _, clip = extend.clip.resolve()
    assert clip.source_range.stop - clip.source_range.start == 9  # the whole file, as `kinora extend FILE`
    assert extend.sampling.model == window.creation_bar.sampling().model  # the creation bar's model
    assert isinstance(loop, rq.Loop) and loop.prompt == PROMPT and loop.clip.source_path() == os.path.abspath(output)


def test_rename_persists_in_the_library_database(qtbot, tmp_path, tiny_model):
    [output] = _generate(tiny_model, tmp_path)
    window = _window(qtbot)
    _click_tile(window, output)
    _answer_next_dialog("Opening shot")
    _click(window, "rename")
    qtbot.waitUntil(lambda: "Opening shot" in window.library.grid.item(0).text())
    again = Library()  # another connection: what is on disk
    assert again.generation_for_output(output)["name"] == "Opening shot"
    again.close()
    assert window.library.recipe.heading.text() == "Opening shot"


def test_trash_moves_the_files_to_the_desktop_trash_and_undo_brings_them_back(qtbot, tmp_path, tiny_model,
                                                                             monkeypatch):
    from engine.library.trash import read_info

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    [output] = _generate(tiny_model, tmp_path)
    sidecar = output + ".provenance.json"
    assert os.path.exists(sidecar)
    window = _window(qtbot)
    library = window.library.library
    record = library.generation_for_output(output)
    _click_tile(window, output)
    _click(window, "trash")
    trash = tmp_path / "xdg" / "Trash"
    assert not os.path.exists(output) and not os.path.exists(sidecar)
    assert (trash / "files" / os.path.basename(output)).is_file()
    info = read_info(str(trash / "info" / (os.path.basename(output) + ".trashinfo")))
    assert info["Path"] == output and info["DeletionDate"]
    assert library.generation_for_output(output) is None and window.library.grid.count() == 0
    assert window.library.undo_banner.isVisible()
    QTest.keyClick(window.library.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo in the Library
    assert os.path.isfile(output) and os.path.isfile(sidecar) and not window.library.undo_banner.isVisible()
    assert not any((trash / "files").iterdir()) and not any((trash / "info").iterdir())
    back = library.generation_for_output(output)
    assert back["id"] == record["id"] and back["settings"] == record["settings"]
    assert [r["id"] for r in library.search("circle")] == [record["id"]]  # searchable again
    assert window.library.grid.count() == 1 and window.library.current_path() == output
    # again, undone this time with the banner's button
    _click(window, "trash")
    assert not os.path.exists(output)
    QTest.mouseClick(window.library.undo_button, Qt.MouseButton.LeftButton)
    assert os.path.isfile(output) and library.generation_for_output(output)["id"] == record["id"]
    assert not window.library.undo_banner.isVisible()


class _FileManager(QObject):
    def __init__(self):
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def show(self, url: QUrl) -> None:
        self.opened.append(url.toLocalFile())


def test_reveal_opens_the_folder_in_the_file_manager(qtbot, tmp_path, tiny_model):
    [output] = _generate(tiny_model, tmp_path)
    window = _window(qtbot)
    manager = _FileManager()  # what the desktop would open file URLs with
    QDesktopServices.setUrlHandler("file", manager, "show")
    try:
        _click_tile(window, output)
        _click(window, "reveal")
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert manager.opened == [os.path.dirname(output)]


def test_an_imported_file_is_only_taken_out_of_the_library_and_undo_puts_it_back(qtbot, tmp_path, monkeypatch):
    from tests.media.media_factory import index_video

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    shot = tmp_path / "my own shot.mp4"
    index_video(shot, 12, rate=24)
    window = _window(qtbot)
    window.library.import_paths([str(shot)])
    _click_tile(window, str(shot))
    assert window.library.recipe.buttons["trash"].text() == "Remove"
    assert not window.library.recipe.buttons["reuse"].isEnabled()  # no recipe to reuse
    assert window.library.recipe.buttons["tools"].isEnabled()  # but a video to extend
    _click(window, "trash")
    assert shot.is_file() and not (tmp_path / "xdg" / "Trash").exists()  # the user's file stays
    assert window.library.library.list_media() == [] and window.library.grid.count() == 0
    QTest.mouseClick(window.library.undo_button, Qt.MouseButton.LeftButton)
    assert [m["path"] for m in window.library.library.list_media()] == [str(shot)]
    assert window.library.grid.count() == 1
