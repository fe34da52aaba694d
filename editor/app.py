"""The `kinora` entry point: the editor by default, headless engine commands otherwise.

Subcommands go to engine.cli without importing Qt, and so does a first word that is neither a
command nor a file to open: engine.cli names it as unknown instead of the editor starting. The
editor imports only Qt and the project model at start-up; torch and the models load when a
generation first needs them.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from engine import cli

    if cli.is_command(argv):
        return cli.main(argv)
    return run_editor(argv)


def run_editor(argv: list[str]) -> int:
    app, window, project = build_editor(argv)
    from editor.session import start_session

    start_session(window, project)
    return app.exec()


def build_editor(argv: list[str]):
    """The application and its shown main window, before anything is opened in it; returns
    (app, window, the project named on the command line or None)."""
    parser = argparse.ArgumentParser(prog="kinora", description="Open the Kinora editor. "
                                     "Run 'kinora --help' for the headless commands.")
    parser.add_argument("project", nargs="?", help="a .kinora project to open")
    args, qt_args = parser.parse_known_args(argv)

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from editor.main_window import MainWindow
    from editor.style import apply_style
    from engine import desktop
    from engine.version import kinora_version

    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("Kinora")
    app.setOrganizationName("Kinora")
    app.setApplicationVersion(kinora_version())
    # The desktop entry's name, so Wayland compositors and docks match windows to its icon.
    app.setDesktopFileName(desktop.APP_ID)
    icon = QIcon()
    for size in desktop.ICON_SIZES:
        icon.addFile(desktop.icon_path(size))
    app.setWindowIcon(icon)
    apply_style(app)
    # Clipboard data made in Python must go before Qt tears the application down, or Qt
    # frees it a second time at exit (a crash on the way out, after everything was saved).
    app.aboutToQuit.connect(lambda: app.clipboard().clear())
    window = MainWindow()
    window.show()
    return app, window, args.project


if __name__ == "__main__":
    sys.exit(main())
