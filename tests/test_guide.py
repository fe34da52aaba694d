"""The user guide (docs/guide.md) names only what the editor has: every key written as
<kbd>Ctrl+T</kbd> is a shortcut of one of the main window's actions, every **Menu > Entry** is in
its menus, every other **bold** name is a button, panel, field or choice of the window, every
*italic* name (right-click menus, dialogs) is a text of the editor's code, and every picture it
shows exists. So the guide cannot drift from the editor it describes."""

from __future__ import annotations

import ast
import os
import re

import pytest
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QComboBox, QDockWidget, QLabel, QLineEdit, QMenu

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(REPO, "docs", "guide.md")


def guide_text() -> str:
    with open(GUIDE, encoding="utf-8") as file:
        return file.read()


def keys_named(text: str) -> set[str]:
    return set(re.findall(r"<kbd>(.+?)</kbd>", text))


def bold_names(text: str) -> set[str]:
    """Bold spans, joined across line breaks ("**Timeline >\n  Add Title**")."""
    return {" ".join(span.split()) for span in re.findall(r"\*\*(.+?)\*\*", text, re.DOTALL)}


def italic_names(text: str) -> set[str]:
    without_bold = re.sub(r"\*\*.+?\*\*", "", text, flags=re.DOTALL)
    return {" ".join(span.split()) for span in re.findall(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", without_bold)}


def shown(text: str) -> str:
    return text.replace("&", "").strip()


def test_the_guide_is_parsed_into_what_it_names():
    sample = "**File > Open…** (<kbd>Ctrl+O</kbd>), **Generate**, *Add wipe*, **Timeline >\n  Add Title**"
    assert keys_named(sample) == {"Ctrl+O"}
    assert bold_names(sample) == {"File > Open…", "Generate", "Timeline > Add Title"}
    assert italic_names(sample) == {"Add wipe"}
    text = guide_text()
    # enough of each to mean something: the guide is written in these forms
    assert len(keys_named(text)) >= 20 and len(bold_names(text)) >= 40 and len(italic_names(text)) >= 8


@pytest.fixture
def window(qtbot, tmp_path):
    """The main window with what makes every menu entry appear: a video clip with two takes
    between two others (the AI tools, Switch take, the gaps to fill), selected."""
    from editor.main_window import MainWindow
    from engine.media.ingest import media_ref_for
    from engine.model import edits
    from engine.model.items import Clip
    from engine.model.project import new_project
    from engine.time import FrameRange
    from tests.media.media_factory import index_video

    project = new_project(160, 96, 24)
    refs = [media_ref_for(str(index_video(tmp_path / f"take{n}.mp4", 24, rate=24))) for n in range(2)]
    for ref in refs:
        edits.add_media(project, ref)
    video = project.timeline.tracks_of("video")[0].id
    for start, clip_id in ((0, "before"), (48, "middle"), (96, "after")):
        edits.insert(project, video, Clip(clip_id, start, refs[0].id, FrameRange(0, 24),
                                          takes=tuple(ref.id for ref in refs) if clip_id == "middle" else ()))
    main = MainWindow(project, start_worker=False)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.timeline.view.select_ids(["middle"])
    yield main
    main.document.undo_stack.setClean()
    main.close()


def menu_paths(menu: QMenu, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every entry of a menu and its submenus as (menu, …, entry), filling menus made on opening."""
    menu.aboutToShow.emit()
    paths = set()
    for action in menu.actions():
        if action.isSeparator():
            continue
        path = (*prefix, shown(action.text()))
        paths.add(path)
        if action.menu() is not None:
            paths |= menu_paths(action.menu(), path)
    return paths


def window_texts(window) -> set[str]:
    """What the window shows by name: actions, buttons, panel titles, labels, placeholders and
    the choices of its combo boxes (shown or not: the Inspector's sections change with the selection)."""
    from editor.start_page import StartPage

    texts = set()
    for top in (window, StartPage(window)):
        texts |= {shown(a.text()) for a in top.findChildren(QAction)}
        texts |= {shown(b.text()) for b in top.findChildren(QAbstractButton)}
        texts |= {shown(m.title()) for m in top.findChildren(QMenu)}
        texts |= {d.windowTitle() for d in top.findChildren(QDockWidget)}
        texts |= {label.text() for label in top.findChildren(QLabel)}
        texts |= {e.placeholderText() for e in top.findChildren(QLineEdit)}
        for combo in top.findChildren(QComboBox):
            texts |= {combo.itemText(i) for i in range(combo.count())}
    return texts - {""}


def test_every_key_the_guide_names_is_a_shortcut_of_the_window(window):
    bound = {sequence.toString(QKeySequence.SequenceFormat.PortableText)
             for action in window.findChildren(QAction) for sequence in action.shortcuts()}
    named = {key: QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText)
             for key in keys_named(guide_text())}
    assert all(named.values()), f"not key sequences: {[k for k, v in named.items() if not v]}"
    assert sorted(k for k, sequence in named.items() if sequence not in bound) == []


def test_every_menu_entry_the_guide_names_is_in_the_menus(window):
    paths = set()
    for action in window.menuBar().actions():
        paths |= menu_paths(action.menu(), (shown(action.text()),))
    named = {tuple(part.strip() for part in name.split(">")) for name in bold_names(guide_text()) if ">" in name}
    assert len(named) >= 30
    assert sorted(" > ".join(path) for path in named - paths) == []


def test_every_other_bold_name_is_shown_by_the_window(window):
    texts = window_texts(window)
    named = {name for name in bold_names(guide_text()) if ">" not in name}
    assert sorted(named - texts) == []


def editor_strings() -> list[str]:
    strings = []
    for folder, _, files in os.walk(os.path.join(REPO, "editor")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as file:
                    tree = ast.parse(file.read())
                strings += [node.value for node in ast.walk(tree)
                            if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return strings


def test_every_italic_name_is_a_text_of_the_editor():
    strings = [shown(s) for s in editor_strings()]
    missing = [name for name in italic_names(guide_text()) if not any(name in s for s in strings)]
    assert sorted(missing) == []


def test_the_pictures_the_guide_shows_exist():
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", guide_text())
    assert "screenshots/storyboard.png" in pictures
    missing = [p for p in pictures if not os.path.isfile(os.path.join(REPO, "docs", p))]
    assert missing == []
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as file:
        assert "(docs/guide.md)" in file.read()


def test_the_screenshots_show_a_storyboard_with_a_blend_a_title_and_sound(tmp_path):
    """The demo project of `make screenshots` (docs/screenshots/storyboard.png) is what the guide
    says it shows: at the playhead two clips on two video tracks overlap with crossing influence
    curves and mix in the picture, under a title; a tune with sound and a marker."""
    import importlib.util

    from engine.model.items import Clip
    from engine.model.titles import Title
    from engine.time import FrameRange

    spec = importlib.util.spec_from_file_location("screenshots", os.path.join(REPO, "packaging", "screenshots.py"))
    shots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shots)
    project = shots.demo_project(shots.demo_media(str(tmp_path)))
    from engine.media.compositor import visible_items

    showing = list(visible_items(project, shots.PLAYHEAD, titles=True))
    assert [type(item) for item, _ in showing] == [Title, Clip, Clip]
    (title, _), (upper, upper_weight), (lower, lower_weight) = showing
    assert 0.0 < upper_weight < 1.0 and lower_weight == 1.0  # the upper clip dissolves over the lower one
    timeline = project.timeline
    videos = timeline.tracks_of("video")
    assert timeline.find(title.id)[0] is videos[0]  # the title on the top video track
    assert timeline.find(upper.id)[0] is not timeline.find(lower.id)[0]
    start, stop = shots.BLEND
    assert upper.range.intersection(lower.range) == FrameRange(start, stop) and start < shots.PLAYHEAD < stop

    def influence(clip, frame):
        return float(clip.curve.evaluate(frame - clip.start))

    # the curves cross inside the overlap: the lower one lets go as the upper one takes hold
    assert influence(lower, start) > influence(upper, start) and influence(lower, stop - 1) < influence(upper, stop - 1)
    sounds = [item for item in timeline.tracks_of("audio")[0].items if project.media[item.media_id].has_audio]
    assert sounds and timeline.markers and len(timeline.tracks_of("prompt")[0].items) >= 2
