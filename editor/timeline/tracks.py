"""Track headers and the track commands: add, delete, rename, reorder, and the mute / solo /
hide / lock buttons, every one an undoable edit through the Document. Dragging a header's
bottom edge (or the menu's Track Height) sets how tall the track's row is.

The headers are painted (not child widgets) so they stay aligned with the view's rows as it
scrolls; a click is mapped to the row and button under it.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from editor import style
from editor.document import Document
from editor.timeline.track_height import (
    PRESETS,
    ROW_HEIGHT_KEY,
    clamp_height,
    preset_height,
    preset_of,
    set_track_height,
    track_height,
)
from editor.timeline.view import RULER_HEIGHT, TRACK_GAP, TRACK_HEIGHTS, TimelineView, track_rows
from engine.model import edits
from engine.model.project import Track

HEADER_WIDTH = 170
BUTTON = 18  # size of a header toggle button, in pixels
RESIZE_GRIP = 3  # how close to a row's bottom edge (pixels, either side) a press resizes the track
_resize_serial = itertools.count()  # each resize drag merges into one step under its own key
# The toggles each kind of track has, left to right (video has no sound of its own to mute here)
TOGGLES = {
    "video": ("solo", "hidden", "locked"),
    "audio": ("muted", "solo", "locked"),
    "prompt": ("muted", "locked"),
}
TOGGLE_LETTERS = {"muted": "M", "solo": "S", "hidden": "H", "locked": "L"}
TOGGLE_TIPS = {"muted": "Mute this track", "solo": "Solo: mute every other track of this kind",
               "hidden": "Hide this track", "locked": "Lock this track against edits"}
KIND_TITLES = {"video": "Video", "audio": "Audio", "prompt": "Prompt"}


class TrackCommands:
    """The edits on tracks, named for the undo history."""

    def __init__(self, document: Document, parent: QWidget):
        self.document = document
        self.parent = parent

    @property
    def tracks(self) -> list[Track]:
        return self.document.project.timeline.tracks

    def add(self, kind: str, above: str | None = None) -> str | None:
        """A new track of `kind`, above the track `above` when given (else where kinds go)."""
        index = None
        if above is not None:
            index = self.document.project.timeline.track_index(above)
        before = {t.id for t in self.tracks}
        if not self.document.perform(f"Add {KIND_TITLES[kind].lower()} track",
                                     lambda p: edits.add_track(p, kind, index=index)):
            return None
        return next(t.id for t in self.tracks if t.id not in before)

    def delete(self, track_id: str) -> bool:
        return self.document.perform("Delete track", lambda p: edits.remove_track(p, track_id))

    def rename(self, track_id: str, name: str | None = None) -> bool:
        """Rename; without `name`, ask for one."""
        track = self.document.project.timeline.track(track_id)
        if name is None:
            name, ok = QInputDialog.getText(self.parent, "Rename track", "Track name:", text=track.name)
            if not ok:
                return False
        name = name.strip()
        if not name or name == track.name:
            return False
        return self.document.perform("Rename track", lambda p: edits.set_track(p, track_id, name=name))

    def move(self, track_id: str, step: int) -> bool:
        """Move a track up (-1) or down (+1) one row."""
        index = self.document.project.timeline.track_index(track_id) + step
        if not 0 <= index < len(self.tracks):
            return False
        return self.document.perform("Move track", lambda p: edits.move_track(p, track_id, index))

    def toggle(self, track_id: str, what: str) -> bool:
        """Flip muted, hidden or locked; "solo" mutes every other track of the kind (or, when the
        track is soloed already, unmutes them all), as one undo step."""
        track = self.document.project.timeline.track(track_id)
        if what != "solo":
            value = not getattr(track, what)
            return self.document.perform(_TOGGLE_NAMES[what, value], lambda p: edits.set_track(p, track_id, **{what: value}))
        same = [t for t in self.tracks if t.kind == track.kind]
        soloed = is_soloed(track, self.tracks)
        wanted = {t.id: (False if soloed else t.id != track_id) for t in same}
        steps = [(lambda p, i=i, m=m: edits.set_track(p, i, muted=m)) for i, m in wanted.items()
                 if self.document.project.timeline.track(i).muted != m]
        if not steps:
            return False
        return self.document.perform("Unsolo track" if soloed else "Solo track", lambda p: edits.together(p, steps))

    def set_height(self, track_id: str, height: int | None, merge_key: object = None) -> bool:
        """Give a track's row `height` pixels (None: its kind's default); a drag passes one
        `merge_key` so the whole drag is one step of the history."""
        wanted = None if height is None else clamp_height(height)
        if self.document.project.timeline.track(track_id).extra.get(ROW_HEIGHT_KEY) == wanted:
            return False
        return self.document.perform("Resize track", lambda p: set_track_height(p, track_id, height), merge_key)


def is_soloed(track: Track, tracks: list[Track]) -> bool:
    """Heard alone: not muted while every other track of its kind is (and there are others)."""
    others = [t for t in tracks if t.kind == track.kind and t.id != track.id]
    return not track.muted and bool(others) and all(t.muted for t in others)


def toggle_on(track: Track, what: str, tracks: list[Track]) -> bool:
    return is_soloed(track, tracks) if what == "solo" else getattr(track, what)


class TrackHeaders(QWidget):
    """Track names and toggles, aligned with the rows of the view; right-click for the track menu."""

    currentTrackChanged = Signal(str)

    def __init__(self, view: TimelineView, commands: TrackCommands):
        super().__init__()
        self.view = view
        self.commands = commands
        self.current_track_id: str | None = None
        self._resize: tuple[str, float, int, tuple] | None = None  # track id, press y, height then, merge key
        self.setFixedWidth(HEADER_WIDTH)
        self.setMouseTracking(True)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.document.changed.connect(self.update)

    def rows(self) -> list[tuple[Track, QRectF]]:
        offset = RULER_HEIGHT - self.view.verticalScrollBar().value()
        return [(track, QRectF(4, offset + top, self.width() - 8, height))
                for track, top, height in track_rows(self.view.project)]

    def button_rects(self, track: Track, row: QRectF) -> list[tuple[str, QRectF]]:
        toggles = TOGGLES[track.kind]
        right = row.right() - 4
        top = row.center().y() - BUTTON / 2
        return [(what, QRectF(right - (len(toggles) - i) * (BUTTON + 3) + 3, top, BUTTON, BUTTON))
                for i, what in enumerate(toggles)]

    def hit(self, pos) -> tuple[Track | None, str | None]:
        """The track under a point, and the toggle there if any."""
        for track, row in self.rows():
            if row.top() <= pos.y() < row.bottom() + 2:
                for what, rect in self.button_rects(track, row):
                    if rect.contains(pos):
                        return track, what
                return track, None
        return None, None

    def edge_at(self, pos) -> Track | None:
        """The track whose row's bottom edge is under a point (dragging it resizes the row)."""
        for track, row in self.rows():
            if abs(pos.y() - (row.bottom() + TRACK_GAP / 2)) <= RESIZE_GRIP:
                return track
        return None

    def set_current(self, track_id: str | None) -> None:
        if track_id != self.current_track_id:
            self.current_track_id = track_id
            self.update()
            self.currentTrackChanged.emit(track_id or "")

    def mousePressEvent(self, event) -> None:
        edge = self.edge_at(event.position())
        if edge is not None and event.button() == Qt.MouseButton.LeftButton:
            self._resize = (edge.id, event.position().y(), track_height(edge, TRACK_HEIGHTS[edge.kind]),
                            ("resize track", next(_resize_serial)))
            return
        track, what = self.hit(event.position())
        if track is None:
            return
        self.set_current(track.id)
        if what is not None and event.button() == Qt.MouseButton.LeftButton:
            self.commands.toggle(track.id, what)

    def mouseReleaseEvent(self, event) -> None:
        self._resize = None

    def mouseDoubleClickEvent(self, event) -> None:
        edge = self.edge_at(event.position())
        if edge is not None:  # a double-click on the edge gives the track its normal height back
            self.commands.set_height(edge.id, None)
            return
        track, what = self.hit(event.position())
        if track is not None and what is None:
            self.commands.rename(track.id)

    def mouseMoveEvent(self, event) -> None:
        if self._resize is not None:
            track_id, press_y, height, key = self._resize
            self.commands.set_height(track_id, int(height + event.position().y() - press_y), key)
            return
        edge = self.edge_at(event.position())
        self.setCursor(Qt.CursorShape.SizeVerCursor if edge else Qt.CursorShape.ArrowCursor)
        if edge is not None:
            self.setToolTip(f"Drag to change the height of {edge.name}; double-click for its normal height")
            return
        track, what = self.hit(event.position())
        self.setToolTip(TOGGLE_TIPS[what] if what else (f"{track.name}: right-click for track commands"
                                                         if track else ""))

    def contextMenuEvent(self, event) -> None:
        track, _ = self.hit(event.pos())
        if track is not None:
            self.set_current(track.id)
        self.menu_for(track).exec(event.globalPos())

    def menu_for(self, track: Track | None) -> QMenu:
        menu = QMenu(self)
        commands = self.commands
        track_id = track.id if track is not None else None

        def add(text: str, slot, enabled: bool = True) -> QAction:
            action = menu.addAction(text)
            action.triggered.connect(slot)
            action.setEnabled(enabled)
            return action

        add("Add Video Track Above", lambda: commands.add("video", track_id if track and track.kind == "video"
                                                          else None))
        add("Add Audio Track", lambda: commands.add("audio"))
        add("Add Prompt Track", lambda: commands.add("prompt"))
        if track is not None:
            index = self.view.project.timeline.track_index(track.id)
            menu.addSeparator()
            add("Rename…", lambda: commands.rename(track.id))
            add("Move Up", lambda: commands.move(track.id, -1), index > 0)
            add("Move Down", lambda: commands.move(track.id, 1), index < len(commands.tracks) - 1)
            sizes = menu.addMenu("Track &Height")
            current = preset_of(track, TRACK_HEIGHTS[track.kind])
            for preset in PRESETS:
                size = sizes.addAction(preset.capitalize())
                size.setCheckable(True)
                size.setChecked(preset == current)
                size.triggered.connect(lambda _=False, p=preset, t=track: commands.set_height(
                    t.id, preset_height(p, TRACK_HEIGHTS[t.kind])))
            menu.addSeparator()
            add("Delete Track", lambda: commands.delete(track.id), not track.locked)
        return menu

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.PANEL)
        tracks = self.view.project.timeline.tracks
        for track, row in self.rows():
            current = track.id == self.current_track_id
            painter.fillRect(row, style.PANEL.lighter(130 if current else 112))
            buttons = self.button_rects(track, row)
            painter.setPen(style.TEXT.darker(140) if track.hidden else style.TEXT)
            name_rect = row.adjusted(8, 0, -(row.right() - buttons[0][1].left()) - 4, 0)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             painter.fontMetrics().elidedText(track.name, Qt.TextElideMode.ElideRight,
                                                              int(name_rect.width())))
            for what, rect in buttons:
                on = toggle_on(track, what, tracks)
                painter.setPen(QPen(style.TEXT.darker(160), 1))
                painter.setBrush(_TOGGLE_ON[what] if on else style.PANEL.darker(110))
                painter.drawRoundedRect(rect, 3, 3)
                painter.setPen(QColor(20, 20, 20) if on else style.TEXT.darker(120))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, TOGGLE_LETTERS[what])


_TOGGLE_NAMES = {("muted", True): "Mute track", ("muted", False): "Unmute track", ("hidden", True): "Hide track",
                 ("hidden", False): "Show track", ("locked", True): "Lock track", ("locked", False): "Unlock track"}
_TOGGLE_ON = {"muted": QColor(220, 120, 60), "solo": QColor(230, 200, 70), "hidden": QColor(140, 140, 200),
              "locked": QColor(200, 80, 80)}


class TrackActions:
    """Timeline menu entries for the current track: the one last clicked in the headers, else
    the track of the first selected item, else the top track."""

    def __init__(self, headers: TrackHeaders, parent: QWidget):
        self.headers = headers
        commands = headers.commands

        def action(text: str, slot) -> QAction:
            made = QAction(text, parent)
            made.triggered.connect(slot)
            return made

        self.add_video = action("Add &Video Track", lambda: commands.add("video", self._above_for("video")))
        self.add_audio = action("Add &Audio Track", lambda: commands.add("audio"))
        self.add_prompt = action("Add P&rompt Track", lambda: commands.add("prompt"))
        self.rename = action("Rena&me Track…", lambda: self._on(commands.rename))
        self.move_up = action("Move Track &Up", lambda: self._on(lambda t: commands.move(t, -1)))
        self.move_down = action("Move Track Do&wn", lambda: self._on(lambda t: commands.move(t, 1)))
        self.delete = action("Delete Trac&k", lambda: self._on(commands.delete))

    def all(self) -> list[QAction]:
        return [self.add_video, self.add_audio, self.add_prompt, self.rename, self.move_up, self.move_down, self.delete]

    def current(self) -> str | None:
        timeline = self.headers.view.project.timeline
        ids = [t.id for t in timeline.tracks]
        if self.headers.current_track_id in ids:
            return self.headers.current_track_id
        selected = self.headers.view.selected_ids()
        if selected:
            return timeline.find(selected[0])[0].id
        return ids[0] if ids else None

    def _above_for(self, kind: str) -> str | None:
        track_id = self.current()
        if track_id is None:
            return None
        return track_id if self.headers.view.project.timeline.track(track_id).kind == kind else None

    def _on(self, command) -> None:
        track_id = self.current()
        if track_id is not None:
            command(track_id)
