import pytest


@pytest.fixture(autouse=True)
def _answer_close_questions(monkeypatch):
    """Windows closed at the end of a test with unsaved changes ask whether to save: answer
    "Discard" as a user leaving without saving would (tests that care answer otherwise). A job
    announced as long (the estimate depends on how busy the machine is while it is measured) is
    queued anyway, as the tests that submit jobs expect whatever the machine's speed."""
    from PySide6.QtWidgets import QMessageBox

    def answer(parent, title, *args, **kwargs):
        return QMessageBox.StandardButton.Yes if title == "A long job" else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)


@pytest.fixture(autouse=True)
def _own_window_settings(tmp_path_factory):
    """Each test starts with no saved window layout (QSettings would otherwise carry the dock
    sizes a previous test's window left, full screen included, into the next one)."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("qsettings"))
    for kind in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(kind, QSettings.Scope.UserScope, folder)
