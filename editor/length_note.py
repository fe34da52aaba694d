"""The creation bar's length note: before anything runs, a range longer than the model makes at
once says how it will be made, "7 windows, about 2 minutes on this CPU" (engine.generate.windows,
engine.generate.cost).

The window count is known at once from the model's planning caps (its configs, nothing loaded).
The minutes need the cost estimate, which measures this machine once (and imports torch), so it
is worked out on a thread of its own and shown when it arrives; a note for settings that have
changed since is dropped."""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QWidget

from engine.errors import KinoraError
from engine.generate.caps import ModelCaps
from engine.generate.windows import window_layout


class LengthNote(QLabel):
    estimated = Signal(object, str, str)  # (the settings it is for, its text, its tooltip); emitted off the UI thread
    finished = Signal()  # an estimate's thread is done, whatever came of it; emitted off the UI thread

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip("How a range longer than the model makes at once is made: a chain of windows")
        self.hide()
        self._shown = None  # the settings the note is for now
        self._estimates: dict[object, tuple[str, str]] = {}  # settings -> (text, tooltip), worked out
        self._asked: set = set()  # the settings estimated or on the way
        self._running = False  # one estimate at a time: each one imports, compiles and counts
        self._waiting = None  # the latest settings asked for while one ran: (key, request, make, how)
        self._caps: dict[object, ModelCaps | None] = {}  # the planning caps of each model chosen
        self.estimated.connect(self._on_estimated)
        self.finished.connect(self._on_finished)

    def caps_of(self, model) -> ModelCaps | None:
        """The planning caps of `model` (a name, folder or None for the default), read once."""
        if model not in self._caps:
            from engine.generate.models import resolve
            from engine.generate.planning import planning_caps

            try:
                self._caps[model] = planning_caps(resolve(model))
            except KinoraError:
                self._caps[model] = None  # no usable model: the bar says so when generating
        return self._caps[model]

    def show_for(self, frames: int | None, request=None, held: tuple = (), make=None) -> None:
        """Say how `frames` frames (a count the bar asks for, rounded as the model rounds it) will be
        made by the model of `request`, the typed request whose cost is estimated (one of that
        size and length); hidden when the model makes them at once. `make()`, where given, makes
        the request to estimate instead (a timeline range's storyboard, built only when an
        estimate is needed), and `held` says where its pictures sit (the keyframe fit's time
        depends on it)."""
        model = request.sampling.model if request is not None else None
        caps = self.caps_of(model)
        num_frames = caps.nearest_frame_count(frames) if caps is not None and frames else 0
        windows = window_layout(num_frames, caps) if num_frames else []
        if len(windows) < 2:
            self._shown = None
            self.hide()
            return
        shared = windows[1].first_new_frame - windows[1].start
        how = (f"{num_frames} frames in {len(windows)} windows of at most {caps.frames_per_window} frames, each "
               f"continuing from the last {shared} frames of the one before")
        sampling = request.sampling
        # what the cost depends on (not the prompt, not the seed): estimated once per settings
        self._shown = (model, num_frames, request.size, sampling.steps, sampling.variations, sampling.device, held)
        text, tip = self._estimates.get(self._shown) or (f"{len(windows)} windows", how)
        self.setText(text)  # the minutes follow when the estimate is in
        self.setToolTip(tip)
        self.show()
        if self._shown not in self._asked:
            self._waiting = (self._shown, request, make, how)  # what an estimate running now is followed by
            self._start_waiting()

    def _start_waiting(self) -> None:
        if self._running or self._waiting is None:
            return
        key, request, make, how = self._waiting
        self._waiting = None
        if key in self._asked:
            return
        self._asked.add(key)
        if make is not None:
            try:
                request = make()
            except KinoraError:
                pass  # the plain request of that length: generating says what is wrong
        self._running = True
        threading.Thread(target=self._estimate, args=(key, request, how), daemon=True,
                         name="kinora-length-note").start()

    def _estimate(self, key, request, how: str) -> None:
        from engine.generate.cost import describe, estimate_request

        try:
            try:
                guess = estimate_request(request)
            except Exception:  # noqa: BLE001 - an estimate is advice: the note keeps its window count
                return
            if guess is not None:
                self.estimated.emit(key, describe(guess), f"{how}\n{guess.note}")
        except RuntimeError:  # the bar was closed while the estimate ran
            pass
        finally:
            try:
                self.finished.emit()
            except RuntimeError:
                pass

    def _on_finished(self) -> None:
        self._running = False
        self._start_waiting()

    def _on_estimated(self, key, text: str, tip: str) -> None:
        self._estimates[key] = (text, tip)
        if key == self._shown:
            self.setText(text)
            self.setToolTip(tip)
