"""The notification area: every job with its progress, cancel and retry, newest first.

A row's title says what the job makes ("#2 Storyboard — 'a red circle…' (64 frames)"); a
running generation shows its latest preview picture, enlarged to a readable size without
blurring when the model's preview is tiny; a finished row names the files it wrote.

A running job stops at its next step, which can be many seconds away on a large model: from
the click (or a cancel from another process, seen through the database) until the job ends,
its row says "cancelling…" so the click visibly took.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor.bridge import JobBridge
from engine.errors import UserError
from engine.jobs.cluster_job import WAITING, runs_on, waits_for_cluster
from engine.jobs.queue import Job
from engine.progress import Progress

STATE_TEXT = {"queued": "waiting", "running": "running", "done": "done", "failed": "failed",
              "cancelled": "cancelled", "interrupted": "interrupted: will resume"}
CANCELLING = "cancelling…"
PREVIEW_WIDTH = 160  # a running job's preview picture, in pixels on screen
TOOL_NAMES = {"generate": "Generate", "storyboard": "Storyboard", "extend": "Extend", "loop": "Loop",
              "remix": "Remix", "upscale": "Upscale", "blend": "Blend", "retake": "Retake", "fill-gap": "Fill gap",
              "variations": "Variations", "render": "Export", "timeline": "Storyboard"}


def job_title(job: Job) -> str:
    """What a job makes, for people: its tool, prompt and length, or for an export its file."""
    params = job.params if isinstance(job.params, dict) else {}
    if job.kind == "render":
        return f"#{job.id} Export — {os.path.basename(str(params.get('output') or ''))}"
    try:
        from engine.jobs.request_job import request_of

        request = request_of(job.kind, params)
    except Exception:  # noqa: BLE001 - an unreadable job still gets a row; it fails with its own message
        return f"#{job.id} {TOOL_NAMES.get(job.kind, job.kind)}"
    return f"#{job.id} {request_title(request)}"


def request_title(request) -> str:
    """"Storyboard — 'a red circle…' (64 frames)": the tool, its prompt and how many frames it makes."""
    from engine.generate import requests as rq

    name = TOOL_NAMES.get(request.tool, request.tool)
    if isinstance(request, rq.Variations):
        count = request.sampling.variations
        request = request.base
        name = f"{count} variations of {TOOL_NAMES.get(request.tool, request.tool).lower()}"
    elif request.sampling.variations > 1:
        name += f" ×{request.sampling.variations}"
    if isinstance(request, rq.Extend):
        name += f" {request.direction}s"
    text = _prompt_of(request)
    if len(text) > 40:  # cut at a word
        text = (text[:40].rsplit(" ", 1)[0] or text[:40]) + "…"
    quoted = f" — '{text}'" if text else ""
    frames = _frames_of(request)
    source = ""
    if isinstance(request, (rq.ClipRequest, rq.Blend)):
        try:
            source = " of " + " and ".join(os.path.basename(p) for p in request.inputs())
        except Exception:  # noqa: BLE001 - a clip that is gone: the job says so when it runs
            source = ""
    return f"{name}{quoted}{source}{f' ({frames})' if frames else ''}"


def _prompt_of(request) -> str:
    from engine.generate import requests as rq

    text = request.prompt.strip()
    if not text and isinstance(request, rq.Generate):
        text = "; ".join(p.text for p in request.prompts_at)
    if not text and isinstance(request, (rq.Storyboard, rq.FillGap)):
        # the prompt blocks over the range, in time order, as the model will read them
        blocks = sorted((item.get("start", 0), item.get("text", ""))
                        for track in request.timeline.project.get("timeline", {}).get("tracks", [])
                        if track.get("kind") == "prompt" for item in track.get("items", [])
                        if item.get("text") and item.get("start", 0) < request.stop
                        and item.get("start", 0) + item.get("duration", 0) > request.start)
        text = "; ".join(dict.fromkeys(t for _, t in blocks))
    return " ".join(text.split())


def _frames_of(request) -> str:
    from engine.generate import requests as rq

    if isinstance(request, (rq.Storyboard, rq.FillGap, rq.Retake)):
        return f"{request.stop - request.start} frames"
    if isinstance(request, (rq.Extend, rq.Loop)):
        return f"{request.frames} new frames"
    if isinstance(request, rq.Generate):
        if request.frames:
            return f"{request.frames} frames"
        if request.duration:
            return f"{request.duration:g} s"
    return ""


def preview_pixmap(rgb, width: int = PREVIEW_WIDTH) -> QPixmap:
    """A preview picture (H x W x 3 uint8) at `width` pixels wide; a tiny one is enlarged without
    smoothing, so its few pixels stay sharp squares rather than a blur. A preview of several
    frames (F x H x W x 3: the sampler's estimate of every latent frame, a finished window's
    frames) shows its middle frame."""
    import numpy as np

    rgb = np.asarray(rgb)
    if rgb.ndim == 4:
        rgb = rgb[rgb.shape[0] // 2]
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    mode = (Qt.TransformationMode.FastTransformation if w * 2 <= width
            else Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(image.scaledToWidth(width, mode))


def breakable(name: str) -> str:
    """A file name a wrapped label may break after its dashes and underscores (zero-width
    spaces: it reads the same)."""
    for mark in "-_":
        name = name.replace(mark, mark + "\u200b")
    return name


class JobRow(QWidget):
    def __init__(self, job: Job, bridge: JobBridge):
        super().__init__()
        self.bridge = bridge
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.state = QLabel()
        self.state.setWordWrap(True)  # a long file name wraps (breakable(): at its dashes) instead of widening the row
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.preview = QLabel()  # the running job's latest preview picture
        self.preview.setVisible(False)
        self.cancel = QPushButton("Cancel")
        self.retry = QPushButton("Retry")
        self.run_here = QPushButton("Run here")  # a job waiting for the cluster, moved to this machine
        self.run_here.setToolTip("Run this job on this machine instead of waiting for the cluster")
        self.cancelling = False  # asked to stop, still running
        self.cancel.clicked.connect(self._on_cancel_clicked)
        self.retry.clicked.connect(lambda: self.bridge.retry(self.job.id))
        self.run_here.clicked.connect(lambda: self.bridge.run_locally(self.job.id))
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel)
        top.addWidget(self.run_here)
        top.addWidget(self.retry)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.preview)
        layout.addWidget(self.state)
        self.update_job(job)

    def update_job(self, job: Job) -> None:
        self.job = job
        self.cancelling = job.state == "running" and (self.cancelling or job.cancel_requested)
        self.title.setText(job_title(job)[:160])
        detail = CANCELLING if self.cancelling else STATE_TEXT.get(job.state, job.state)
        if job.state == "failed" and job.error:
            detail += f" — {job.error}"
        elif job.state == "done":  # the last progress message ("exporting") is stale once done
            if job.outputs:
                names = ", ".join(breakable(os.path.basename(str(path))) for path in job.outputs)
                detail += (" — exported to " if job.kind == "render" else " — ") + names
        elif job.message and not self.cancelling:
            detail += f" — {job.message}"
        self.state.setText(detail)
        self.state.setStyleSheet("color: #e07070;" if job.state == "failed" else "color: #999;")
        self.set_progress(job.progress)
        self.cancel.setVisible(job.state in ("queued", "running", "interrupted") and not self.cancelling)
        self.retry.setVisible(job.state in ("failed", "cancelled", "interrupted"))
        self.run_here.setVisible(waits_for_cluster(job) and job.params.get("where") != "local")
        where = runs_on(job)
        if where != "here":
            self.state.setText(f"{self.state.text()} ({where})")
        if job.state != "running":
            self.preview.setVisible(False)

    def set_progress(self, progress: Progress) -> None:
        self.bar.setMaximum(max(progress.total, 1))
        self.bar.setValue(progress.step)
        if progress.message and self.job.state == "running" and not self.cancelling:
            where = runs_on(self.job)
            self.state.setText(f"running — {progress.message}" + (f" ({where})" if where != "here" else ""))
            self.run_here.setVisible(progress.message.startswith(WAITING) and self.job.params.get("where") != "local")
        if progress.preview is not None and self.job.state in ("queued", "running"):
            self.preview.setPixmap(preview_pixmap(progress.preview))
            self.preview.setVisible(True)

    def _on_cancel_clicked(self) -> None:
        if self.job.state == "running":
            # Shown before the worker hears of it; update_job keeps it until the job ends.
            self.cancelling = True
            self.state.setText(CANCELLING)
            self.cancel.setVisible(False)
        try:
            self.bridge.cancel(self.job.id)
        except UserError:  # it ended in the meantime; its final state is on its way from the worker
            self.cancelling = False


class JobsPanel(QWidget):
    countChanged = Signal(int)  # jobs waiting or running

    def __init__(self, bridge: JobBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.list = QListWidget()
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        # rows are as wide as the panel and wrap their text: never a sideways scroll to read a row
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.viewport().installEventFilter(self)  # rows refitted when the panel's width changes
        self.rows: dict[int, tuple[QListWidgetItem, JobRow]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        bridge.jobChanged.connect(self._on_bridge_jobChanged)
        bridge.jobProgress.connect(self._on_bridge_jobProgress)
        for job in reversed(bridge.jobs(limit=50)):
            self._on_bridge_jobChanged(job)

    def active_count(self) -> int:
        return sum(row.job.state in ("queued", "running") for _, row in self.rows.values())

    def _on_bridge_jobChanged(self, job: Job) -> None:
        if job.id in self.rows:
            item, row = self.rows[job.id]
            row.update_job(job)
            self._fit(item, row)
        else:
            item = QListWidgetItem()
            row = JobRow(job, self.bridge)
            self._fit(item, row)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.list.insertItem(0, item)
            self.list.setItemWidget(item, row)
            self.rows[job.id] = (item, row)
        self.countChanged.emit(self.active_count())

    def _on_bridge_jobProgress(self, job_id: int, progress: Progress) -> None:
        if job_id in self.rows:
            item, row = self.rows[job_id]
            row.set_progress(progress)
            self._fit(item, row)  # the row grows when its preview picture appears

    def _fit(self, item: QListWidgetItem, row: JobRow) -> None:
        """The row as wide as the list and as tall as its wrapped text and picture need there."""
        width = self.list.viewport().width()
        height = row.heightForWidth(width) if row.hasHeightForWidth() else -1
        item.setSizeHint(QSize(width, max(height, row.minimumSizeHint().height())))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            for item, row in self.rows.values():
                self._fit(item, row)
        return super().eventFilter(watched, event)
