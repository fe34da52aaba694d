"""The "Preview Quality" menu: the size the preview composites at (Kdenlive's preview scaling,
Resolve's playback resolution). Auto fits the viewer, Half is half the project's size, Full the
project's size; exports are never affected. The choice is remembered in the user's settings.

Every frame shown uses the choice, paused or playing: with Auto the picture is composited at the
viewer's size, so a full-size render of a paused frame would be shrunk to the same pixels
(tests/media/test_preview_scale.py measures how alike the two are), and Half or Full is a choice
the user made on purpose.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from engine.user_settings import PREVIEW_QUALITIES

LABELS = {
    "auto": "&Auto (fit to the viewer)",
    "half": "&Half size",
    "full": "&Full size (as exported)",
}
TIPS = {
    "auto": "Composite the preview at the size it is shown at: smooth playback, the same picture",
    "half": "Composite the preview at half the project's size: cheaper, a little softer when enlarged",
    "full": "Composite the preview at the project's size, then fit it to the viewer (slowest)",
}


class QualityMenu(QMenu):
    """Three exclusive choices; `chosen` says which one the user picked."""

    chosen = Signal(str)

    def __init__(self, current: str, parent: QWidget | None = None):
        super().__init__("Preview &Quality", parent)
        self.setToolTipsVisible(True)
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions_by_quality: dict[str, QAction] = {}
        for quality in PREVIEW_QUALITIES:
            action = QAction(LABELS[quality], self)
            action.setCheckable(True)
            action.setToolTip(TIPS[quality])
            action.setData(quality)
            action.triggered.connect(lambda checked, q=quality: self.chosen.emit(q))
            group.addAction(action)
            self.addAction(action)
            self.actions_by_quality[quality] = action
        self.show_choice(current)

    def show_choice(self, quality: str) -> None:
        self.actions_by_quality[quality].setChecked(True)


def remember(quality: str) -> None:
    """Save the choice in the user's settings (other settings as they are on disk now)."""
    import dataclasses

    from engine.user_settings import load_settings, save_settings

    save_settings(dataclasses.replace(load_settings(), preview_quality=quality))


def remembered() -> str:
    from engine.user_settings import load_settings

    return load_settings().preview_quality
