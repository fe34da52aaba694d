"""What the editor does as it opens: the project named on the command line; otherwise first
any unsaved changes an editor that stopped unexpectedly left behind, then the last project
(a preference, on by default), and else the start page."""

from __future__ import annotations

import os


def start_session(window, project_path: str | None = None) -> str:
    """Open what the editor should show at launch; returns what it did ("opened", "recovered",
    "reopened", "start page"), for the status bar and tests."""
    if project_path:
        window.open_project(project_path)
        return "opened"
    # When a recovery was offered and not taken, the start page follows rather than the last
    # project, so the same changes are not offered twice in a row.
    from engine.model.recovery import find_recoveries_at_launch
    from engine.user_settings import load_recent, load_settings

    recents = load_recent()
    offered = bool(find_recoveries_at_launch([r.path for r in load_recent(existing_only=False)]))
    if offered and window.files.offer_recoveries_at_launch():
        return "recovered"
    reopen = not offered and load_settings().reopen_last_project and recents and os.path.isfile(recents[0].path)
    if reopen and window.files.open(recents[0].path):
        return "reopened"
    show_start_page(window)
    return "start page"


def show_start_page(window):
    from editor.start_page import StartPage

    page = StartPage(window)
    window.start_page = page  # kept alive while shown; a test finds it here
    page.show()
    page.raise_()
    return page
