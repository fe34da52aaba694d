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


@pytest.fixture(scope="session", autouse=True)
def _null_audio_output():
    """Where PulseAudio is installed, the editor's sound plays into a private null sink (never
    the speakers of the machine running the tests); it must exist before Qt first looks for
    audio devices, which it does once per process."""
    import os

    from tests.audio_server import NullSinkServer

    if not NullSinkServer.available():
        yield None
        return
    server = NullSinkServer()
    address = server.start()
    previous = os.environ.get("PULSE_SERVER")
    if address is not None:
        os.environ["PULSE_SERVER"] = address
    yield address
    if previous is None:
        os.environ.pop("PULSE_SERVER", None)
    else:
        os.environ["PULSE_SERVER"] = previous
    server.stop()


def pytest_sessionfinish(session, exitstatus):
    """Drop clipboard data the tests put there while Qt can still free it (see editor/app.py)."""
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.clipboard().clear()
