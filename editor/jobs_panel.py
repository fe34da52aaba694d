"""The notification area: every job with its progress, cancel and retry, newest first.

A running job stops at its next step, which can be many seconds away on a large model: from
the click (or a cancel from another process, seen through the database) until the job ends,
its row says "cancelling…" so the click visibly took.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
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
from engine.jobs.queue import Job
from engine.progress import Progress

STATE_TEXT = {"queued": "waiting", "running": "running", "done": "done", "failed": "failed",
              "cancelled": "cancelled", "interrupted": "interrupted: will resume"}
CANCELLING = "cancelling…"


class JobRow(QWidget):
    def __init__(self, job: Job, bridge: JobBridge):
        super().__init__()
        self.bridge = bridge
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.state = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.cancel = QPushButton("Cancel")
        self.retry = QPushButton("Retry")
        self.cancelling = False  # asked to stop, still running
        self.cancel.clicked.connect(self._on_cancel_clicked)
        self.retry.clicked.connect(lambda: self.bridge.retry(self.job.id))
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel)
        top.addWidget(self.retry)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.state)
        self.update_job(job)

    def update_job(self, job: Job) -> None:
        self.job = job
        self.cancelling = job.state == "running" and (self.cancelling or job.cancel_requested)
        from engine.jobs.request_job import describe

        prompt = describe(job.kind, job.params)
        self.title.setText(f"#{job.id} {prompt}"[:160])
        detail = CANCELLING if self.cancelling else STATE_TEXT.get(job.state, job.state)
        if job.state == "failed" and job.error:
            detail += f" — {job.error}"
        elif job.state == "done":  # the last progress message ("exporting") is stale once done
            if job.outputs:
                detail += " — " + ", ".join(os.path.basename(str(path)) for path in job.outputs)
        elif job.message and not self.cancelling:
            detail += f" — {job.message}"
        self.state.setText(detail)
        self.state.setStyleSheet("color: #e07070;" if job.state == "failed" else "color: #999;")
        self.set_progress(job.progress)
        self.cancel.setVisible(job.state in ("queued", "running", "interrupted") and not self.cancelling)
        self.retry.setVisible(job.state in ("failed", "cancelled", "interrupted"))

    def set_progress(self, progress: Progress) -> None:
        self.bar.setMaximum(max(progress.total, 1))
        self.bar.setValue(progress.step)
        if progress.message and self.job.state == "running" and not self.cancelling:
            self.state.setText(f"running — {progress.message}")

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
            self.rows[job.id][1].update_job(job)
        else:
            item = QListWidgetItem()
            row = JobRow(job, self.bridge)
            item.setSizeHint(row.sizeHint())
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.list.insertItem(0, item)
            self.list.setItemWidget(item, row)
            self.rows[job.id] = (item, row)
        self.countChanged.emit(self.active_count())

    def _on_bridge_jobProgress(self, job_id: int, progress: Progress) -> None:
        if job_id in self.rows:
            self.rows[job_id][1].set_progress(progress)
