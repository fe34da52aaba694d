"""Shared test set-up: Qt runs offscreen, caches and user data go to temporary folders."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI runs the same examples every time (a failure there reproduces); local runs explore anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user's cache, data and settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("KINORA_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("KINORA_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


def pytest_sessionfinish(session, exitstatus):
    """Drop clipboard data the tests put there while Qt can still free it (see editor/app.py)."""
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.clipboard().clear()
