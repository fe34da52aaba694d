"""The level meter beside the preview: the peak of each channel of what is sounding, on a dB
scale (FLOOR_DB..0 dBFS), with a peak-hold tick that stays HOLD_MS then falls."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QElapsedTimer, QRectF, QSize
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
HOLD_MS = 1500
FALL_DB_PER_SECOND = 20.0  # how fast the bars fall when the sound gets quieter (ballistics)


def to_db(level: float) -> float:
    """A linear peak (1.0 = full scale) in dBFS, FLOOR_DB for silence."""
    return max(FLOOR_DB, 20.0 * math.log10(level)) if level > 0 else FLOOR_DB


class LevelMeter(QWidget):
    def __init__(self, channels: int = 2, parent: QWidget | None = None):
        super().__init__(parent)
        self.levels_db = [FLOOR_DB] * channels  # what the bars show now
        self.hold_db = [FLOOR_DB] * channels
        self._hold_age = [QElapsedTimer() for _ in range(channels)]
        self._since = QElapsedTimer()
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setToolTip("Audio level (peak per channel, dBFS)")

    def sizeHint(self) -> QSize:
        return QSize(10 + 9 * len(self.levels_db), 120)

    def set_levels(self, peaks: np.ndarray) -> None:
        """The peaks (linear) of what sounds now: bars jump up at once and fall gently."""
        fall = FALL_DB_PER_SECOND * (self._since.restart() / 1000.0 if self._since.isValid() else 0.0)
        if not self._since.isValid():
            self._since.start()
        for channel in range(len(self.levels_db)):
            level = to_db(float(peaks[channel])) if channel < len(peaks) else FLOOR_DB
            self.levels_db[channel] = max(level, self.levels_db[channel] - fall)
            if level >= self.hold_db[channel] or not self._hold_age[channel].isValid() or \
                    self._hold_age[channel].elapsed() > HOLD_MS:
                self.hold_db[channel] = level
                self._hold_age[channel].start()
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 22))
        channels = len(self.levels_db)
        width = (self.width() - 4) / channels
        height = self.height() - 4
        for channel, (level, hold) in enumerate(zip(self.levels_db, self.hold_db)):
            x = 2 + channel * width
            fraction = (level - FLOOR_DB) / -FLOOR_DB
            bar = QRectF(x + 1, 2 + height * (1 - fraction), width - 2, height * fraction)
            color = QColor(220, 60, 50) if level > -1 else QColor(230, 200, 60) if level > -12 else QColor(70, 190, 90)
            painter.fillRect(bar, color)
            if hold > FLOOR_DB:
                y = 2 + height * (1 - (hold - FLOOR_DB) / -FLOOR_DB)
                painter.fillRect(QRectF(x + 1, y, width - 2, 2), QColor(240, 240, 240))
        painter.setPen(QColor(90, 90, 95))
        for mark in (-6, -12, -24, -48):  # scale ticks
            y = 2 + height * (1 - (mark - FLOOR_DB) / -FLOOR_DB)
            painter.drawLine(0, int(y), 2, int(y))
