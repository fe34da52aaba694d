"""The editor's look: a dark Fusion palette like the editors people already use all day."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = QColor(30, 31, 34)
PANEL = QColor(40, 41, 45)
TEXT = QColor(222, 222, 226)
ACCENT = QColor(88, 140, 255)

# item colours on the timeline, by what the item is
CLIP_COLOR = QColor(62, 110, 190)
GENERATED_COLOR = QColor(128, 84, 200)
STILL_COLOR = QColor(40, 140, 130)
TEXT_COLOR = QColor(196, 140, 48)
AUDIO_COLOR = QColor(60, 150, 90)
PLAYHEAD_COLOR = QColor(235, 64, 64)
MENU = QColor(52, 53, 58)
DISABLED_TEXT = QColor(105, 106, 112)
DISABLED_BUTTON = QColor(36, 37, 40)  # a disabled button sinks a little into the panel


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, PANEL)
    palette.setColor(QPalette.ColorRole.WindowText, TEXT)
    palette.setColor(QPalette.ColorRole.Base, BACKGROUND)
    palette.setColor(QPalette.ColorRole.AlternateBase, PANEL)
    palette.setColor(QPalette.ColorRole.Text, TEXT)
    palette.setColor(QPalette.ColorRole.Button, PANEL)
    palette.setColor(QPalette.ColorRole.ButtonText, TEXT)
    palette.setColor(QPalette.ColorRole.ToolTipBase, PANEL)
    palette.setColor(QPalette.ColorRole.ToolTipText, TEXT)
    palette.setColor(QPalette.ColorRole.Highlight, ACCENT)
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(140, 140, 148))
    # setColor(role, colour) sets every colour group alike; disabled actions must look disabled
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.HighlightedText):
        palette.setColor(disabled, role, DISABLED_TEXT)
    palette.setColor(disabled, QPalette.ColorRole.Button, DISABLED_BUTTON)
    palette.setColor(disabled, QPalette.ColorRole.Highlight, PANEL.lighter(125))
    app.setPalette(palette)
    # Menus a shade lighter than the panels they open over, so their edge shows (with one
    # palette for all, a menu over the Library or the timeline had no visible border).
    menus = QPalette(palette)
    menus.setColor(QPalette.ColorRole.Window, MENU)
    menus.setColor(QPalette.ColorRole.Base, MENU)
    app.setPalette(menus, "QMenu")
