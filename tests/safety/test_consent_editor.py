"""The editor asks for consent before it queues a generation from a picture of a person."""

from __future__ import annotations

import cv2
import numpy as np
import skimage.data
from PySide6.QtWidgets import QMessageBox

from editor.main_window import MainWindow
from engine.model.project import new_project


def test_creation_bar_asks_for_consent_and_records_the_answer(qtbot, tmp_path, monkeypatch):
    portrait = tmp_path / "astronaut.png"
    cv2.imwrite(str(portrait), np.ascontiguousarray(skimage.data.astronaut()[..., ::-1]))
    window = MainWindow(new_project(64, 64, 24), start_worker=False)
    qtbot.addWidget(window)
    bar = window.creation_bar
    bar.prompt.setText("an astronaut waving")
    bar.set_attachment(str(portrait))
    asked = []

    def answer(choice):
        def question(parent, title, text, *args, **kwargs):
            asked.append(text)
            return choice
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    bar.generate_button.click()
    assert len(asked) == 1 and "astronaut.png shows a person" in asked[0]
    assert window.bridge.jobs() == []  # declined: nothing queued
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    bar.generate_button.click()
    [job] = window.bridge.jobs()
    request = job.params["request"]
    assert request["sampling"]["consent"] is True and request["images"][0]["path"] == str(portrait)
