"""Snapping: pull a frame onto the nearest target (playhead, item edges, marks) when close."""

from __future__ import annotations

from collections.abc import Iterable


def snap_frame(frame: int, targets: Iterable[int], tolerance: float) -> int:
    """The target nearest to `frame` if it is within `tolerance` frames, else `frame`."""
    best, best_distance = frame, tolerance + 1e-9
    for target in targets:
        distance = abs(target - frame)
        if distance <= best_distance and (distance < best_distance or target < best):
            best, best_distance = target, distance
    return best
