"""Unlink in a clip's context menu: a generated clip and its sound (engine.model.links) move and
trim together until the user unlinks them."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from engine.model import edits
from engine.model.links import link_of


def add_unlink_entry(menu: QMenu | None, document, ids: list[str], parent: QWidget) -> QMenu | None:
    """Add "Unlink" to the menu when the one selected item is linked to others."""
    if len(ids) != 1:
        return menu
    try:
        _, item = document.project.timeline.find(ids[0])
    except KeyError:
        return menu
    link = link_of(item)
    if link is None or not any(other.id != item.id and link_of(other) == link
                               for _, other in document.project.timeline.items()):
        return menu  # not linked, or its partner was deleted
    menu = menu or QMenu("Clip", parent)
    action = QAction("Unlink picture and sound", menu)
    action.triggered.connect(lambda: document.perform("Unlink", lambda p: edits.unlink(p, item.id)))
    if menu.actions():
        menu.addSeparator()
    menu.addAction(action)
    return menu
