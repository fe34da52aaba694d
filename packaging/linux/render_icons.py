"""Render the application icon's PNG sizes from its SVG: `python packaging/linux/render_icons.py`.

The PNGs are committed (desktops without an SVG loader and the window icon use them); run this
again after changing the SVG.
"""

from __future__ import annotations

import os
import sys

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
HERE = os.path.dirname(os.path.abspath(__file__))
SVG = os.path.join(HERE, "icons", "org.kinora.Kinora.svg")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication(sys.argv[:1])  # noqa: F841 (painting needs an application)
    renderer = QSvgRenderer(SVG)
    if not renderer.isValid():
        print(f"{SVG}: not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(os.path.join(HERE, "icons", f"{size}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
