"""Under the tracks: what the model will be told, drawn from the compiled generation plan.

For the generate range (the I/O marks, else the whole timeline) the strip shows, per pixel
frame, how strongly the frame is held (filled area: 1 = kept exactly, 0 = free) and, as
coloured bands, which prompt conditions each frame. When the chosen model makes sound (LTX-2),
an audio row under it shows how strongly each audio latent frame is held (sound on the audio
tracks), at the audio frame's own time. A range longer than the model makes at once runs as a
chain of windows (engine.generate.windows): a thin line marks each window's start and a light
band the frames it shares with the one before; hovering one names it.

The plan is compiled again after every change that can alter it: any document change (edits,
curves, undo and redo, another project opened), the marks, the chosen model's frame layout.
Everything drawn is derived from that plan at that moment, in frame units; zoom and scroll
only change how those frame units map to pixels, so they repaint without compiling, and no
drawing survives a recompile.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QToolTip, QWidget

from editor import style
from editor.timeline.view import TimelineView
from editor.timeline.window_marks import WindowMark, mark_at, window_marks
from engine.errors import KinoraError
from engine.generate.caps import DEFAULT_LAYOUT_CAPS, ModelCaps, caps_for_layout, marked_range
from engine.generate.compiler import compile as compile_plan
from engine.generate.plan import GenerationPlan
from engine.time import FrameRange

STRIP_HEIGHT = 54
# Until the main window tells it the chosen model's layout (engine.generate.models.frame_layout),
# the strip assumes the LTX family's causal VAE of real LTX-Video (8 frames per latent frame after the first).
DEFAULT_CAPS = DEFAULT_LAYOUT_CAPS
PROMPT_COLORS = [QColor(196, 140, 48), QColor(70, 150, 200), QColor(160, 90, 200), QColor(80, 170, 110),
                 QColor(210, 90, 90), QColor(150, 150, 60)]
_BAND_TOP, _BAND_HEIGHT = 2, 14
_OUTLINE_PEN = QPen(QColor(120, 200, 255), 1)
_OUTLINE_PEN.setCosmetic(True)  # the outline is scaled from frame units: keep the line one pixel wide
_LATENT_PEN = QPen(QColor(255, 255, 255, 40), 1)
_AUDIO_ROW_HEIGHT = 12
_AUDIO_PEN = QPen(QColor(120, 230, 150), 1)
_AUDIO_PEN.setCosmetic(True)
_WINDOW_PEN = QPen(QColor(255, 225, 120, 200), 1)
_WINDOW_PEN.setCosmetic(True)  # drawn in frame units: one pixel wide at any zoom
_SHARED_BAND = QColor(255, 225, 120, 45)
STRIP_TIP = "What the model will be told: filled = how strongly each frame is held; bands = which prompt conditions it"


@dataclasses.dataclass(frozen=True)
class PromptRun:
    """Consecutive plan frames [start, stop) conditioned by prompt `index` of the plan."""

    start: int
    stop: int
    index: int


class PlanStrip(QWidget):
    def __init__(self, view: TimelineView, left_margin: int, caps: ModelCaps = DEFAULT_CAPS):
        super().__init__()
        self.view = view
        self.caps = caps
        self.left_margin = left_margin
        self.plan: GenerationPlan | None = None
        self.problem = ""
        # What is drawn, made from `plan` by `recompile` and by nothing else:
        self.strength_outline = QPolygonF()  # x in plan frames, y = 1 - held strength (0 at the top)
        self.prompt_runs: list[PromptRun] = []
        # the audio row: x in plan frames (audio frame i spans its own time), y = 1 - held strength
        self.audio_outline = QPolygonF()
        # a chain of windows: a line at each window's start (x in plan frames, y 0..1) and a band
        # over the frames it shares with the one before
        self.window_marks: list[WindowMark] = []
        self.window_lines: list[QLineF] = []
        self.shared_bands: list[QRectF] = []
        self.setFixedHeight(STRIP_HEIGHT)
        self.setToolTip(STRIP_TIP)
        view.document.changed.connect(self.recompile)
        view.marksChanged.connect(self.recompile)
        view.zoomChanged.connect(self.update)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.playheadChanged.connect(lambda _frame: self.update())
        self.recompile()

    def set_layout(self, layout: tuple[int, int] | None, audio_latents_per_second: float | None = None) -> None:
        """Draw plans for a model whose VAE makes one latent frame of `layout[0]` pixel frames and
        one latent cell of `layout[1]` pixels (None: the default), with the default window; with
        `audio_latents_per_second` (a model that makes sound) the audio row too."""
        self.set_caps(caps_for_layout(layout, audio_latents_per_second))

    def set_caps(self, caps: ModelCaps) -> None:
        """Draw plans as the chosen model makes them: its planning caps
        (engine.generate.planning.planning_caps), as `kinora plan` compiles them, windows included."""
        if caps != self.caps:
            self.caps = caps
            self.recompile()

    def generate_range(self) -> FrameRange | None:
        """The frames a Timeline generation covers (engine.generate.caps.marked_range)."""
        view = self.view
        return marked_range(view.project.timeline.duration, view.mark_in, view.mark_out, self.caps)

    def recompile(self) -> None:
        """Compile the plan of the current project, marks and model, and what is drawn from it."""
        frames = self.generate_range()
        plan, self.problem = None, ""
        if frames is not None:
            try:
                plan = compile_plan(self.view.project, frames, self.caps, width=self.caps.size_multiple,
                                    height=self.caps.size_multiple)
            except KinoraError as error:
                self.problem = str(error)
        self.plan = plan
        self.strength_outline = _strength_outline(plan.pixel_strength) if plan is not None else QPolygonF()
        self.prompt_runs = _prompt_runs(plan.pixel_prompt) if plan is not None else []
        self.audio_outline = _audio_outline(plan) if plan is not None and plan.num_audio_frames else QPolygonF()
        self.window_marks = window_marks(plan, self.caps)
        self.window_lines = [QLineF(m.start, 0.0, m.start, 1.0) for m in self.window_marks]
        self.shared_bands = [QRectF(m.start, 0.0, m.shared, 1.0) for m in self.window_marks if m.shared]
        self.update()

    def drawn_window_starts(self) -> list[int]:
        """The plan frames where the strip draws a window's start line (read back from the lines)."""
        return [round(line.x1()) for line in self.window_lines]

    def drawn_shared_spans(self) -> list[tuple[int, int]]:
        """The plan frames [start, stop) under each shared band (read back from the bands)."""
        return [(round(band.left()), round(band.right())) for band in self.shared_bands]

    def plan_frame_at(self, x: float) -> float | None:
        """The plan frame under widget x at the current zoom and scroll."""
        if self.plan is None:
            return None
        origin = self.left_margin + self.view.view_x_of(self.plan.frame_range.start)
        return (x - origin) / self.view.pixels_per_frame

    def tooltip_at(self, x: float) -> str:
        """What hovering widget x says: the window there, for a chain; else what the strip shows."""
        frame = self.plan_frame_at(x)
        mark = mark_at(self.window_marks, frame) if frame is not None and x >= self.left_margin else None
        return mark.describe() if mark is not None else STRIP_TIP

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            QToolTip.showText(event.globalPos(), self.tooltip_at(event.pos().x()), self)
            return True
        return super().event(event)

    def drawn_audio_strength(self) -> np.ndarray:
        """The held strength of each audio latent frame as the audio row draws it (read back)."""
        count = (self.audio_outline.size() - 2) // 2
        return (1.0 - np.array([self.audio_outline.at(1 + 2 * i).y() for i in range(count)])).astype(np.float32)

    def drawn_strength(self) -> np.ndarray:
        """The held strength of each plan frame as the outline draws it (read back from the outline)."""
        if self.plan is None:
            return np.zeros(0, np.float32)
        tops = [self.strength_outline.at(1 + 2 * i).y() for i in range(self.plan.num_frames)]
        return (1.0 - np.array(tops)).astype(np.float32)

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
        # prompt bands
        for run in self.prompt_runs:
            rect = QRectF(origin + run.start * ppf, _BAND_TOP, (run.stop - run.start) * ppf, _BAND_HEIGHT)
            if rect.right() < self.left_margin or rect.left() > self.width():
                continue
            painter.fillRect(rect, PROMPT_COLORS[run.index % len(PROMPT_COLORS)].darker(130))
            painter.setPen(style.TEXT)
            text = plan.prompts[run.index] or "(no prompt)"
            painter.drawText(rect.adjusted(3, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter,
                             painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                              int(max(rect.width() - 5, 0))))
        # held strength per pixel frame: the outline in frame units, scaled to this zoom
        top = _BAND_TOP + _BAND_HEIGHT + 4
        audio_row = _AUDIO_ROW_HEIGHT if self.audio_outline.size() else 0
        height = self.height() - top - 4 - audio_row
        painter.save()
        painter.translate(origin, top)
        painter.scale(ppf, height)
        painter.setPen(_OUTLINE_PEN)
        painter.setBrush(QColor(120, 200, 255, 70))
        painter.drawPolygon(self.strength_outline)
        painter.restore()
        if audio_row:  # held sound per audio latent frame, under the pictures' row
            painter.save()
            painter.translate(origin, top + height + 2)
            painter.scale(ppf, audio_row - 2)
            painter.setPen(_AUDIO_PEN)
            painter.setBrush(QColor(120, 230, 150, 70))
            painter.drawPolygon(self.audio_outline)
            painter.restore()
        if self.window_lines:  # a chain of windows: the frames two share (under the prompt colours, which
            # stay true), and where each starts (across the whole strip)
            painter.save()
            painter.translate(origin, top)
            painter.scale(ppf, self.height() - top)
            for band in self.shared_bands:
                painter.fillRect(band, _SHARED_BAND)
            painter.restore()
            painter.save()
            painter.translate(origin, 0)
            painter.scale(ppf, self.height())
            painter.setPen(_WINDOW_PEN)
            painter.drawLines(self.window_lines)
            painter.restore()
        # latent frame boundaries: where the model's time steps fall
        painter.setPen(_LATENT_PEN)
        for k in range(plan.num_latent_frames):
            x = origin + self.caps.pixel_frames_of_latent(k).start * ppf
            painter.drawLine(QPointF(x, top), QPointF(x, top + height))


def _strength_outline(pixel_strength: np.ndarray) -> QPolygonF:
    """A step outline of per-frame strength: frame i spans x in [i, i+1] at y = 1 - strength,
    closed along y = 1 (so point 1 + 2i is the top-left corner of frame i)."""
    num_frames = len(pixel_strength)
    ys = np.repeat(1.0 - np.asarray(pixel_strength, np.float64), 2)
    xs = np.repeat(np.arange(num_frames + 1, dtype=np.float64), 2)[1:-1]
    return QPolygonF([QPointF(0, 1), *map(QPointF, xs.tolist(), ys.tolist()), QPointF(num_frames, 1)])


def _audio_outline(plan: GenerationPlan) -> QPolygonF:
    """A step outline of the held strength per audio latent frame, in plan frames: audio frame i
    spans [i, i + 1) / audio latents per second seconds (point 1 + 2i is its top-left corner)."""
    frames_per_audio = float(plan.rate.fps) / plan.audio_latents_per_second
    count = plan.num_audio_frames
    ys = np.repeat(1.0 - np.asarray(plan.audio_strength, np.float64), 2)
    xs = np.repeat(np.arange(count + 1, dtype=np.float64) * frames_per_audio, 2)[1:-1]
    end = count * frames_per_audio
    return QPolygonF([QPointF(0, 1), *map(QPointF, xs.tolist(), ys.tolist()), QPointF(end, 1)])


def _prompt_runs(pixel_prompt: np.ndarray) -> list[PromptRun]:
    starts = [0, *(np.flatnonzero(np.diff(pixel_prompt)) + 1).tolist()]
    stops = [*starts[1:], len(pixel_prompt)]
    return [PromptRun(start, stop, int(pixel_prompt[start])) for start, stop in zip(starts, stops)]
