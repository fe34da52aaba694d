import pytest


@pytest.fixture(autouse=True)
def _answer_close_questions(monkeypatch):
    """Windows closed at the end of a test with unsaved changes ask whether to save: answer
    "Discard" as a user leaving without saving would (tests that care answer otherwise)."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Discard)
