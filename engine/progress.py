"""Progress reports and cancellation for long engine work (generation, export, analysis).

Kept free of any queue or thread code so the sampler, the CLI and the persistent job queue
can all share the same two primitives.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


class JobCancelled(Exception):
    """Raised inside a job at the next check after its CancelToken was cancelled."""


class CancelToken:
    """A per-job flag set from any thread; the job calls `check()` every step and stops by raising."""

    __slots__ = ("_event", "reason")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise JobCancelled(self.reason or "cancelled")


@dataclass(frozen=True, slots=True)
class Progress:
    """One report from a running job. `preview` is a small picture (uint8 array) when the job has one."""

    step: int
    total: int
    message: str = ""
    preview: Any = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)
