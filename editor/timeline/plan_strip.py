"""Under the tracks: what the model will be told, drawn from the compiled generation plan.

For the generate range (the I/O marks, else the whole timeline) the strip shows, per pixel
frame, how strongly the frame is held (filled area: 1 = kept exactly, 0 = free) and, as
coloured bands, which prompt conditions each frame. It follows the view's zoom and scroll.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from editor import style
from editor.timeline.view import TimelineView
from engine.errors import KinoraError
from engine.generate.caps import ModelCaps
from engine.generate.compiler import compile as compile_plan
from engine.generate.plan import GenerationPlan
from engine.time import FrameRange

STRIP_HEIGHT = 54
# Until the main window tells it the chosen model's layout (engine.generate.models.frame_layout),
# the strip assumes the LTX family's causal VAE of real LTX-Video (8 frames per latent frame after the first).
DEFAULT_CAPS = ModelCaps(family="ltx", vae_temporal_compression=8, vae_spatial_compression=32, size_multiple=32,
                         per_token_timesteps=True)
PROMPT_COLORS = [QColor(196, 140, 48), QColor(70, 150, 200), QColor(160, 90, 200), QColor(80, 170, 110),
                 QColor(210, 90, 90), QColor(150, 150, 60)]


class PlanStrip(QWidget):
    def __init__(self, view: TimelineView, left_margin: int, caps: ModelCaps = DEFAULT_CAPS):
        super().__init__()
        self.view = view
        self.caps = caps
        self.left_margin = left_margin
        self.plan: GenerationPlan | None = None
        self.problem = ""
        self._outline, self._outline_key = None, None
        self.setFixedHeight(STRIP_HEIGHT)
        self.setToolTip("What the model will be told: filled = how strongly each frame is held; "
                        "bands = which prompt conditions it")
        view.document.changed.connect(self.recompile)
        view.marksChanged.connect(self.recompile)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.playheadChanged.connect(lambda _frame: self.update())
        self.recompile()

    def set_layout(self, layout: tuple[int, int] | None) -> None:
        """Draw plans for a model whose VAE makes one latent frame of `layout[0]` pixel frames and
        one latent cell of `layout[1]` pixels (None: the default)."""
        import dataclasses

        caps = DEFAULT_CAPS if layout is None else dataclasses.replace(
            DEFAULT_CAPS, vae_temporal_compression=layout[0], vae_spatial_compression=layout[1],
            size_multiple=layout[1])
        if caps != self.caps:
            self.caps = caps
            self.recompile()

    def generate_range(self) -> FrameRange | None:
        view = self.view
        if view.mark_in is not None and view.mark_out is not None and view.mark_out > view.mark_in:
            start, stop = view.mark_in, view.mark_out + 1  # the out mark's frame is included, as in every NLE
        else:
            start, stop = 0, view.project.timeline.duration
        if stop <= start:
            return None
        # the plan covers the nearest frame count the model can make, starting at the in mark
        count = self.caps.nearest_frame_count(stop - start)
        return FrameRange(start, start + count)

    def recompile(self) -> None:
        frames = self.generate_range()
        self.plan, self.problem = None, ""
        if frames is not None:
            try:
                self.plan = compile_plan(self.view.project, frames, self.caps, width=self.caps.size_multiple,
                                         height=self.caps.size_multiple)
            except KinoraError as error:
                self.problem = str(error)
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.PANEL.darker(120))
        painter.setPen(style.TEXT.darker(140))
        painter.drawText(QRectF(4, 0, self.left_margin - 8, self.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "plan")
        plan = self.plan
        if plan is None:
            if self.problem:
                painter.drawText(self.rect().adjusted(self.left_margin + 6, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter,
                                 self.problem)
            return
        painter.setClipRect(QRectF(self.left_margin, 0, self.width() - self.left_margin, self.height()))
        ppf = self.view.pixels_per_frame
        origin = self.left_margin + self.view.view_x_of(plan.frame_range.start)
        band_top, band_height = 2, 14
        # prompt bands
        run_start = 0
        for i in range(1, plan.num_frames + 1):
            if i == plan.num_frames or plan.pixel_prompt[i] != plan.pixel_prompt[run_start]:
                index = int(plan.pixel_prompt[run_start])
                rect = QRectF(origin + run_start * ppf, band_top, (i - run_start) * ppf, band_height)
                painter.fillRect(rect, PROMPT_COLORS[index % len(PROMPT_COLORS)].darker(130))
                painter.setPen(style.TEXT)
                text = plan.prompts[index] or "(no prompt)"
                painter.drawText(rect.adjusted(3, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter,
                                 painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                                  int(max(rect.width() - 5, 0))))
                run_start = i
        # held strength per pixel frame, as a step outline built once per plan and zoom
        top, height = band_top + band_height + 4, self.height() - band_top - band_height - 8
        key = (id(plan), ppf, height)
        if self._outline_key != key:
            steps = np.repeat(np.asarray(plan.pixel_strength, np.float64), 2)
            xs = np.repeat(np.arange(plan.num_frames + 1, dtype=np.float64) * ppf, 2)[1:-1]
            ys = top + (1.0 - steps) * height
            points = [QPointF(0, top + height), *map(QPointF, xs.tolist(), ys.tolist()),
                      QPointF(plan.num_frames * ppf, top + height)]
            self._outline, self._outline_key = QPolygonF(points), key
        painter.save()
        painter.translate(origin, 0)
        painter.setPen(QPen(QColor(120, 200, 255), 1))
        painter.setBrush(QColor(120, 200, 255, 70))
        painter.drawPolygon(self._outline)
        painter.restore()
        # latent frame boundaries: where the model's time steps fall
        painter.setPen(QPen(QColor(255, 255, 255, 40), 1))
        for k in range(plan.num_latent_frames):
            x = origin + self.caps.pixel_frames_of_latent(k).start * ppf
            painter.drawLine(QPointF(x, top), QPointF(x, top + height))
