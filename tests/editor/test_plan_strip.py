"""The strip under the tracks shows the compiled plan: held strength and prompt spans."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from editor.main_window import MainWindow
from engine.model import edits
from engine.model.curves import Curve, Keyframe
from engine.model.items import MediaRef, Still, TextBlock
from engine.model.project import new_project


def test_strip_follows_edits_and_marks(qtbot):
    project = new_project(640, 360, 24)
    edits.add_media(project, MediaRef("img", "/m/card.png", "image"))
    video = project.timeline.tracks_of("video")[0].id
    prompt = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, video, Still("s", 0, 9, "img"))
    edits.insert(project, prompt, TextBlock("t1", 0, 20, "a red circle"))
    edits.insert(project, prompt, TextBlock("t2", 20, 13, "a blue star"))
    window = MainWindow(project)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.timeline.view.setFocus()
    strip = window.timeline.plan_strip
    plan = strip.plan
    assert plan.num_frames == 33 and plan.frame_range.start == 0
    np.testing.assert_array_equal(plan.pixel_strength[:9], 1.0)
    np.testing.assert_array_equal(plan.pixel_strength[9:], 0.0)
    assert [plan.prompts[i] for i in plan.pixel_prompt[[0, 19, 20, 32]]] == ["a red circle"] * 2 + ["a blue star"] * 2
    # a drawn curve shows up at once
    window.document.perform("curve", lambda p: edits.set_curve(p, "s", Curve((Keyframe(0, 1.0), Keyframe(8, 0.0)))))
    np.testing.assert_allclose(strip.plan.pixel_strength[:9], np.linspace(1, 0, 9), atol=1e-6)
    # I/O marks choose the range
    view = window.timeline.view
    view.set_playhead(16)
    QTest.keyClick(view, Qt.Key.Key_I)
    view.set_playhead(24)
    QTest.keyClick(view, Qt.Key.Key_O)
    assert (view.mark_in, view.mark_out) == (16, 24)
    assert strip.plan.frame_range.start == 16 and strip.plan.num_frames == 9


def test_strip_draws_latent_frames_as_the_chosen_model_makes_them(qtbot, tmp_path):
    from tests.generate.tiny_models import save_tiny_ltx

    project = new_project(640, 360, 24)
    prompt = project.timeline.tracks_of("prompt")[0].id
    edits.insert(project, prompt, TextBlock("t", 0, 30, "a red circle"))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    strip = window.timeline.plan_strip
    # The default model is the bundled one: 4 pixel frames per latent frame, so 30 frames -> 29.
    assert strip.caps.vae_temporal_compression == 4 and strip.plan.num_frames == 29
    # A model whose VAE downsamples time three times (8 frames per latent frame), as real LTX-Video's:
    # only its config is read, nothing is loaded.
    folder = save_tiny_ltx(tmp_path / "tiny")
    config_file = folder / "vae" / "config.json"
    config = json.loads(config_file.read_text())
    config["spatio_temporal_scaling"] = [True, True, True, False]
    config_file.write_text(json.dumps(config))
    bar = window.creation_bar
    bar.model.addItem("tiny LTX", str(folder))
    bar.model.setCurrentIndex(bar.model.count() - 1)
    assert strip.caps.vae_temporal_compression == 8 and strip.plan.num_frames == 33
    bar.model.setCurrentIndex(0)
    assert strip.caps.vae_temporal_compression == 4
