"""The chosen model's limits are shown before anything runs: the creation bar and prompt blocks
complete from its vocabulary and example prompts, a prompt, range or size outside them gets a
warning line (a range longer than it makes at once is made as windows: no warning), the size it will make is said beside the aspect, and an attached picture of
another shape is shown framed by the chosen fit mode (and the mode goes in the request)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.creation_bar import CreationBar
from editor.main_window import MainWindow
from engine.model import edits
from engine.model.items import TextBlock
from engine.model.project import new_project
from tests.generate.media import write_png
from tests.generate.test_fit_modes import BLUE, RED, colour_pixels, two_blocks

GOOD = "a red circle moving right on a black background"


@pytest.fixture
def bar(qtbot):
    bar = CreationBar()
    qtbot.addWidget(bar)
    bar.resize(1500, 90)
    bar.show()
    qtbot.waitExposed(bar)
    bar.prompt.setFocus()
    return bar


def choose(completer, text: str) -> None:
    """Move down the open popup with the arrow key to `text` and press Enter, as a person does."""
    popup = completer.completer.popup()
    choices = completer.model.stringList()
    assert text in choices, choices
    for _ in range(choices.index(text) + 1):
        QTest.keyClick(popup, Qt.Key.Key_Down)
    QTest.keyClick(popup, Qt.Key.Key_Return)


def test_the_creation_bar_completes_words_and_example_prompts_from_the_models_vocabulary(bar):
    submitted = []
    bar.submitted.connect(submitted.append)
    QTest.keyClicks(bar.prompt, "a gr")
    assert bar.completer.popup_visible()
    choices = bar.completer.model.stringList()
    assert choices[:3] == ["grass", "green", "growing"]  # the word being typed, from the vocabulary
    assert "a green triangle growing on a grass background" in choices  # whole example prompts
    choose(bar.completer, "green")
    assert bar.prompt.text() == "a green" and not submitted  # Enter took the completion, nothing generated
    QTest.keyClicks(bar.prompt, " tri")
    assert bar.completer.model.stringList()[0] == "triangle"
    bar.prompt.clear()
    QTest.keyClicks(bar.prompt, "a blu")
    choose(bar.completer, "a blue square spinning on a white background")
    assert bar.prompt.text() == "a blue square spinning on a white background"
    assert not bar.hint.isVisible()


def test_unknown_words_get_a_visible_hint_under_the_prompt(bar):
    QTest.keyClicks(bar.prompt, "a gr")
    assert not bar.hint.isVisible()  # a word still being typed is not called unknown
    bar.prompt.clear()
    QTest.keyClicks(bar.prompt, "a cat on a red background")
    assert bar.hint.isVisible()
    assert "“cat” is a word toyworld was not trained on" in bar.hint.text()
    assert GOOD in bar.hint.text()  # what it does understand
    bar.prompt.clear()
    QTest.keyClicks(bar.prompt, GOOD)
    assert not bar.hint.isVisible()


def test_a_duration_outside_what_the_model_was_trained_on_is_said(bar):
    spin = bar.duration.lineEdit()
    spin.selectAll()
    QTest.keyClicks(spin, "3")
    assert bar.duration.value() == 3.0
    # 73 frames: longer than it makes at once, so made as windows it knows; no warning
    assert not bar.hint.isVisible() and bar.length_note.text().startswith("3 windows")
    spin.selectAll()
    QTest.keyClicks(spin, "0.5")  # 13 frames: shorter than it knows
    assert "toyworld was trained on 25-33 frames; 13 frames is shorter than it knows" in bar.hint.text()
    assert bar.hint.isVisible()
    spin.selectAll()
    QTest.keyClicks(spin, "1")  # 25 frames: within what it knows
    assert not bar.hint.isVisible() and not bar.length_note.isVisible()


def test_the_aspect_label_says_what_the_model_will_make(bar):
    assert bar.aspect.currentText() == "1:1"  # the bundled model makes 64x64
    assert bar.aspect_note.text() == "64x64 (1:1) — this model makes one size"
    bar.aspect.setFocus()
    QTest.keyClick(bar.aspect, Qt.Key.Key_Up)  # 16:9, the entry above
    assert bar.aspect.currentText() == "16:9"
    assert bar.aspect_note.text() == "⚠ 16:9 cannot be made: toyworld makes one size, 64x64 (1:1)"
    assert "64x64 (1:1) — this model makes one size" in bar.aspect_note.toolTip()
    bar.resolution.setCurrentText("480p")
    assert bar.aspect_note.text().startswith("⚠ toyworld was trained at 64x64 only; 856x480 will degrade")
    assert "856x480 (16:9)" in bar.aspect_note.toolTip()
    assert bar.size().aspect == "16:9" and bar.size().resolution == "480p"


def test_an_attached_wide_image_is_shown_framed_and_its_fit_mode_goes_in_the_request(bar, tmp_path):
    path = write_png(tmp_path / "wide.png", two_blocks())
    bar.set_attachment(str(path))
    assert bar.fit.isVisible() and bar.framed.isVisible()
    assert bar.fit.currentData() == "fit"  # all of the picture kept, unless the person chooses otherwise
    fitted = bar.framed_picture()
    assert fitted.shape == (64, 64, 3)
    assert colour_pixels(fitted[:, :8], RED) > 0 and colour_pixels(fitted[:, -8:], BLUE) > 0
    thumbnail = bar.framed.pixmap().toImage()
    assert thumbnail.height() == 40
    assert thumbnail.pixelColor(20, 2).value() < 30  # the letterbox bar the model will see
    assert thumbnail.pixelColor(1, 20).red() > 180  # the red block at the left edge, kept
    bar.fit.setFocus()
    QTest.keyClick(bar.fit, Qt.Key.Key_Down)  # Fill (crop to cover)
    assert bar.fit.currentData() == "fill"
    filled = bar.framed_picture()
    assert colour_pixels(filled, RED) == 0 and colour_pixels(filled, BLUE) == 0
    QTest.keyClicks(bar.prompt, GOOD)
    [image] = bar.request("/tmp/out.mp4").images
    assert image.fit == "fill" and image.path == str(path)


@pytest.fixture
def window(qtbot):
    project = new_project(64, 64, 24)
    prompt_track = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompt_track, TextBlock("good", 0, 80, GOOD))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_timeline_range_outside_the_trained_frames_is_said_before_it_is_queued(window):
    bar, view = window.creation_bar, window.timeline.view
    bar.source.setCurrentText("Timeline")
    view.setFocus()
    view.set_playhead(0)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(63)
    QTest.keyClick(view, Qt.Key.Key_O)
    # 65 frames: made as 3 windows of a length it knows, said beside the hints
    assert not bar.hint.isVisible() and bar.length_note.isVisible() and bar.length_note.text().startswith("3 windows")
    view.set_playhead(12)
    QTest.keyClick(view, Qt.Key.Key_O)  # 13 frames
    assert "toyworld was trained on 25-33 frames; 13 frames is shorter than it knows" in bar.hint.text()
    assert bar.hint.isVisible()
    view.set_playhead(24)
    QTest.keyClick(view, Qt.Key.Key_O)  # 25 frames
    assert not bar.hint.isVisible()
    # a prompt block the model cannot read, inside the range
    window.document.perform("edit", lambda p: edits.set_text(p, "good", "a cat sleeping"))
    assert "“cat”, “sleeping” are words" in bar.hint.text()


def test_a_prompt_block_completes_from_the_vocabulary_and_warns_under_itself(window):
    view = window.timeline.view
    editor = view.edit_text("good")
    editor.clear()
    QTest.keyClicks(editor, "a ye")
    completer = editor.findChild(type(window.creation_bar.completer))
    assert completer is not None and completer.model.stringList()[0] == "yellow"
    choose(completer, "yellow")
    assert editor.text() == "a yellow"
    QTest.keyClicks(editor, " dragon")
    hint = editor.property("hint")
    assert hint.isVisible() and "“dragon” is a word toyworld was not trained on" in hint.text()
    QTest.keyClick(editor, Qt.Key.Key_Return)  # no popup open: Enter finishes the block
    _, block = window.project.timeline.find("good")
    assert block.text == "a yellow dragon"
    # the Inspector's prompt field warns the same way
    window.inspector.set_selection(["good"])
    inspector = window.inspector
    inspector.text.setFocus()
    inspector.text.selectAll()
    QTest.keyClicks(inspector.text, "a red circle bouncing on a sky background")
    assert not inspector.text_hint.isVisible()
    QTest.keyClicks(inspector.text, " at night")
    assert "“at”, “night” are words" in inspector.text_hint.text() and inspector.text_hint.isVisible()


def test_a_model_without_a_size_of_its_own_makes_the_chosen_aspect_at_its_size(bar, tmp_path):
    from tests.generate.tiny_models import save_tiny_ltx

    bar.model.addItem("tiny LTX", str(save_tiny_ltx(tmp_path / "tiny")))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    bar.aspect.setCurrentText("9:16")
    assert bar.resolution.currentText() == "Model's size"
    width, height = (int(n) for n in bar.aspect_note.text().split(" ")[0].split("x"))
    assert height > width and bar.aspect_note.text().endswith("(9:16)")  # not the 16:9 it used to make silently
    assert bar.size().aspect == "9:16"
