"""The Qt binding must not leak or drop references on the calls the editor makes millions of
times (a PySide6 release once dropped a reference to None on every void call, which aborts
Python 3.11 after a while of painting)."""

import sys

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath


def test_void_calls_keep_none_alive():
    path = QPainterPath()
    before = sys.getrefcount(None)
    for i in range(20_000):
        path.lineTo(float(i), 1.0)
        path.moveTo(QPointF(i, 2.0))
    assert abs(sys.getrefcount(None) - before) < 100
