"""The preview's sound: the timeline mix (engine.media.audio.AudioMixer) played through a Qt
audio sink in push mode, and the clock the pictures follow while it plays.

A feeder thread mixes blocks ahead of the play position (decoding never runs on the UI
thread); a UI timer hands them to the sink as it has room. While sound plays, the play
position is where the sink is: the first sample plus the sink's processed time (what it has
taken from us; Qt reports no further device latency, so none is subtracted). Each play or
seek starts a new sink, so its processed time counts from that start.

Only normal-speed forward play sounds: at 2x and faster, and backwards, the preview is muted
(as Kdenlive is at reverse shuttle) and follows the wall clock. A seek while paused plays a
short burst at the new position (scrubbing). With no audio output (a server without sound,
CI) nothing is played, but blocks are still mixed against the wall clock so the level meter
shows what would sound.
"""

from __future__ import annotations

import queue
import threading
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

from engine.media.audio import sample_of_frame
from engine.model.project import Project

SAMPLE_RATE = 48000
CHANNELS = 2
BLOCK_SAMPLES = 2048  # ~43 ms: the level meter's resolution and the feeder's step
AHEAD_BLOCKS = 8  # mixed ahead of the sink (~0.34 s): enough to ride out a slow decode
SINK_BUFFER_SECONDS = 0.25  # Qt's buffer: rides out a busy UI thread; the clock excludes it
SCRUB_SECONDS = 0.08  # what a scrub plays, about two frames, as editors do
STALL_SECONDS = 4.0  # a sink that takes nothing for this long is given up on (some take 2 s to start)


_NOT_LOOKED_UP = object()


def block_peaks(samples: np.ndarray) -> np.ndarray:
    """Peak absolute level of each channel of a (channels, samples) block."""
    return np.abs(samples).max(axis=1) if samples.shape[1] else np.zeros(samples.shape[0], np.float32)


class _Feeder(threading.Thread):
    """Mixes (generation, first sample, block) tuples into `blocks`. Commands replace what it
    does: ("play", generation, project, first sample), ("burst", generation, project, first
    sample, count), ("project", project), ("stop",), ("quit",)."""

    def __init__(self) -> None:
        super().__init__(name="kinora-audio-feeder", daemon=True)
        self.commands: queue.Queue = queue.Queue()
        self.blocks: queue.Queue = queue.Queue(maxsize=AHEAD_BLOCKS)
        self.errors: queue.Queue = queue.Queue()
        self._mixer = None

    def run(self) -> None:
        from engine.errors import KinoraError
        from engine.media.audio import AudioMixer

        generation, position, remaining = 0, 0, 0  # remaining: samples still to make (-1 endless)
        project: Project | None = None
        unsent = None  # a mixed block the full queue has not taken yet
        while True:
            idle = remaining == 0 and unsent is None
            commands = [self.commands.get()] if idle else []
            while not self.commands.empty():
                commands.append(self.commands.get_nowait())
            for command in commands:
                kind = command[0]
                if kind == "quit":
                    if self._mixer is not None:
                        self._mixer.close()
                    return
                if kind == "stop":
                    remaining, unsent = 0, None
                elif kind == "project":
                    project = command[1]
                elif kind in ("play", "burst"):
                    _, generation, project, position = command[:4]
                    remaining, unsent = (-1 if kind == "play" else command[4]), None
                if project is not None:
                    if self._mixer is None:
                        self._mixer = AudioMixer(project, SAMPLE_RATE, CHANNELS)
                    self._mixer.project = project
            if unsent is None:
                if remaining == 0 or project is None:
                    continue
                count = BLOCK_SAMPLES if remaining < 0 else min(BLOCK_SAMPLES, remaining)
                try:
                    samples = self._mix(project, position, count)
                except KinoraError as error:
                    self.errors.put(str(error))
                    samples = np.zeros((CHANNELS, count), np.float32)
                except Exception as error:  # noqa: BLE001 - the thread must live on, or playback would wait for it forever
                    self.errors.put(f"the sound could not be mixed ({type(error).__name__}: {error}); "
                                    "playing silence there")
                    samples = np.zeros((CHANNELS, count), np.float32)
                unsent = (generation, position, samples)
                position += count
                remaining = remaining - count if remaining > 0 else remaining
            try:
                self.blocks.put(unsent, timeout=0.02)
                unsent = None
            except queue.Full:
                pass

    def _mix(self, project: Project, first_sample: int, count: int) -> np.ndarray:
        return self._mixer.mix_samples(first_sample, first_sample + count)


class AudioPlayback(QObject):
    """Plays the mix from a frame; tells where the sound is. `levels` holds the peak of each
    channel of what is sounding now (what the meter shows)."""

    levelsChanged = Signal(object)  # numpy array of linear peaks, one per channel
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._device = _NOT_LOOKED_UP  # looked up at the first play: the window opens without waiting on it
        self.format = None
        self.sink = None
        self._io = None
        self._generation = 0
        self._first_sample = 0
        self._fps = Fraction(24)
        self._playing = False  # sounding (or, without a device, following the wall clock) from _first_sample
        self._pending: list[tuple[int, np.ndarray]] = []  # blocks not yet handed to the sink
        self._next_sample = 0  # the first sample of the first block not yet handed over
        self._pending_bytes = b""
        self._history: list[tuple[int, np.ndarray]] = []  # blocks handed over, for the meter
        self._wall = QElapsedTimer()
        self._feeder = _Feeder()
        self._feeder.start()
        self._pump = QTimer(self)
        self._pump.setTimerType(Qt.TimerType.PreciseTimer)
        self._pump.timeout.connect(self._on_pump_timeout)
        self._last_burst = QElapsedTimer()
        self._scrub_wanted: tuple[Project, int] | None = None
        self._scrub_timer = QTimer(self)
        self._scrub_timer.setSingleShot(True)
        self._scrub_timer.timeout.connect(self._on_scrub_timer_timeout)
        self.levels = np.zeros(CHANNELS, np.float32)
        self.underruns = 0  # times the sink ran dry while playing (the pictures then wait for it)
        self._last_processed = -1
        self._since_progress = QElapsedTimer()
        self._dry = False

    @property
    def device(self):
        """The default audio output (QAudioDevice), or None where there is none."""
        if self._device is _NOT_LOOKED_UP:
            self.device = self._find_device()
        return self._device

    @device.setter
    def device(self, device) -> None:
        self._device = device
        self.format = self._format() if device is not None else None

    @property
    def has_output(self) -> bool:
        return self.device is not None

    @staticmethod
    def _find_device():
        from PySide6.QtMultimedia import QMediaDevices

        device = QMediaDevices.defaultAudioOutput()
        return None if device.isNull() else device

    def _format(self):
        from PySide6.QtMultimedia import QAudioFormat

        audio_format = QAudioFormat()
        audio_format.setSampleRate(SAMPLE_RATE)
        audio_format.setChannelCount(CHANNELS)
        audio_format.setSampleFormat(QAudioFormat.SampleFormat.Float)
        if not self.device.isFormatSupported(audio_format):
            audio_format.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        return audio_format

    # --- transport --------------------------------------------------------------------------

    def set_project(self, project: Project) -> None:
        """A new snapshot of the project (after an edit). While playing, the blocks mixed ahead
        are dropped and mixed again from the first one not yet handed to the sink, so a mute,
        a gain or a move is heard within the sink's buffer."""
        self._fps = project.settings.rate.fps
        if not self._playing:
            self._feeder.commands.put(("project", project))
            return
        self._generation += 1
        self._pending.clear()
        self._feeder.commands.put(("play", self._generation, project, self._next_sample))

    def play(self, project: Project, frame: int) -> None:
        """Sound from `frame` on, until stop()."""
        self._start(project, frame, None)

    def burst(self, project: Project, frame: int) -> None:
        """A short stretch of sound at `frame` (a scrub), then silence. A fast scrub starts
        at most one burst per burst length; the last position asked for always sounds."""
        since = self._last_burst.elapsed() if self._last_burst.isValid() else None
        if since is not None and since < 1000 * SCRUB_SECONDS:
            self._scrub_wanted = (project, frame)
            if not self._scrub_timer.isActive():
                self._scrub_timer.start(int(1000 * SCRUB_SECONDS - since) + 1)
            return
        self._last_burst.start()
        self._start(project, frame, round(SCRUB_SECONDS * SAMPLE_RATE))

    def _on_scrub_timer_timeout(self) -> None:
        wanted, self._scrub_wanted = self._scrub_wanted, None
        if wanted is not None:
            self.burst(*wanted)

    def _start(self, project: Project, frame: int, count: int | None) -> None:
        self._reset()
        self._fps = project.settings.rate.fps
        self._first_sample = self._next_sample = sample_of_frame(frame, self._fps, SAMPLE_RATE)
        self._generation += 1
        if count is None:
            self._feeder.commands.put(("play", self._generation, project, self._first_sample))
        else:
            self._feeder.commands.put(("burst", self._generation, project, self._first_sample, count))
        if self.device is not None:
            from PySide6.QtMultimedia import QAudioSink

            self.sink = QAudioSink(self.device, self.format, self)
            self.sink.setBufferSize(int(SINK_BUFFER_SECONDS * SAMPLE_RATE) * CHANNELS * self.format.bytesPerSample())
            self._io = self.sink.start()
        self._wall.start()
        self._last_processed = -1
        self._since_progress.invalidate()
        self._playing = count is None
        self._pump.start(10)

    def stop(self) -> None:
        self._reset()
        self._pump.stop()
        self.levels = np.zeros(CHANNELS, np.float32)
        self.levelsChanged.emit(self.levels)

    def _reset(self) -> None:
        self._playing = False
        self._scrub_wanted = None
        self._scrub_timer.stop()
        self._generation += 1
        self._feeder.commands.put(("stop",))
        if self.sink is not None:
            self.sink.stop()
            self.sink.deleteLater()
            self.sink = self._io = None
        self._pending.clear()
        self._pending_bytes = b""
        self._history.clear()

    def shutdown(self) -> None:
        self.stop()
        self._feeder.commands.put(("quit",))
        self._feeder.join(2)

    # --- the clock --------------------------------------------------------------------------

    @property
    def sounding(self) -> bool:
        """Whether the pictures should follow the sound: playing through a real sink."""
        return self._playing and self.sink is not None

    def stalled(self) -> bool:
        """Whether the sink has taken no sound for STALL_SECONDS while playing (a device that
        does not play): the pictures then go on without sound rather than wait for it."""
        if not self.sounding:
            return False
        processed = self.sink.processedUSecs()
        if processed != self._last_processed or not self._since_progress.isValid():
            self._last_processed = processed
            self._since_progress.start()
            return False
        return self._since_progress.elapsed() > 1000 * STALL_SECONDS

    def processed_samples(self) -> int:
        """How far the sink has played since this play started, in samples."""
        if self.sink is None:
            return round(self._wall.nsecsElapsed() * SAMPLE_RATE / 1e9) if self._wall.isValid() else 0
        return self.sink.processedUSecs() * SAMPLE_RATE // 1_000_000

    def position_sample(self) -> int:
        return self._first_sample + self.processed_samples()

    def position_frames(self) -> float:
        """The timeline position now sounding, in (fractional) frames."""
        return float(Fraction(self.position_sample()) * self._fps / SAMPLE_RATE)

    # --- feeding the sink ----------------------------------------------------------------------

    def _on_pump_timeout(self) -> None:
        while len(self._pending) < AHEAD_BLOCKS:  # the rest wait in the feeder's queue, which stops it
            try:
                generation, first, samples = self._feeder.blocks.get_nowait()
            except queue.Empty:
                break
            if generation == self._generation:
                self._pending.append((first, samples))
        while not self._feeder.errors.empty():
            self.failed.emit(self._feeder.errors.get_nowait())
        if self.sink is not None:
            self._count_underrun()
            self._write_to_sink()
        else:  # no device: blocks are "played" when the wall clock reaches them
            now = self.position_sample()
            while self._pending and self._pending[0][0] <= now:
                self._hand_over()
        self._show_levels()
        if not self._playing and not self._pending and not self._pending_bytes and not self.levels.any() \
                and self._wall.elapsed() > 1000 * SCRUB_SECONDS:
            self._pump.stop()  # a burst has sounded: nothing more to hand over until the next start

    def _count_underrun(self) -> None:
        """Polled (PySide cannot deliver the sink's stateChanged argument): a new dry spell while
        playing counts once."""
        from PySide6.QtMultimedia import QAudio

        dry = self._playing and self.sink.error() == QAudio.Error.UnderrunError
        if dry and not self._dry:
            self.underruns += 1
        self._dry = dry

    def _write_to_sink(self) -> None:
        free = self.sink.bytesFree()
        while free > 0:
            if not self._pending_bytes:
                if not self._pending:
                    return
                self._pending_bytes = self._encode(self._hand_over())
            written = self._io.write(self._pending_bytes[:free])
            if written <= 0:
                return
            self._pending_bytes = self._pending_bytes[written:]
            free -= written

    def _hand_over(self) -> np.ndarray:
        first, samples = self._pending.pop(0)
        self._history.append((first, samples))
        self._next_sample = first + samples.shape[1]
        return samples

    def _encode(self, samples: np.ndarray) -> bytes:
        interleaved = np.clip(samples.T, -1.0, 1.0)
        from PySide6.QtMultimedia import QAudioFormat

        if self.format.sampleFormat() == QAudioFormat.SampleFormat.Int16:
            return (interleaved * 32767).astype("<i2").tobytes()
        return interleaved.astype("<f4").tobytes()

    def _show_levels(self) -> None:
        """The peaks of the block sounding now; older blocks are forgotten."""
        now = self.position_sample()
        while len(self._history) > 1 and self._history[1][0] <= now:
            self._history.pop(0)
        current = self._history[0] if self._history else None
        if current is not None and current[0] <= now < current[0] + current[1].shape[1]:
            self.levels = block_peaks(current[1])
        else:
            self.levels = np.zeros(CHANNELS, np.float32)
        self.levelsChanged.emit(self.levels)
