"""The timeline view: tracks and items laid out in frames, edited with the mouse.

Scene x is in frames and zoom is the view's horizontal scale (pixels_per_frame), so zooming
moves nothing in the scene; tracks run top to bottom in display order. The scene mirrors
the project: after every change `sync()` updates only the graphics whose item changed
(items are immutable, so "changed" is an identity test). Mouse drags perform engine edits
live through the Document with a merge key unique to the drag, so one drag is one undo step.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QLineEdit, QWidget

from editor import style
from editor.document import Document
from editor.timeline import audio_handles
from editor.timeline.drop import MEDIA_MIME, drop_files
from editor.timeline.graphics import ItemGraphic
from editor.timeline.snapping import snap_frame
from editor.timeline.track_height import track_height
from editor.timeline.transitions import TransitionLayer
from editor.timeline.waveforms import WaveformLoader
from engine.model import edits
from engine.model.items import Item, TextBlock, new_id
from engine.model.links import with_partners
from engine.model.project import Project, Track

RULER_HEIGHT = 26
TRACK_HEIGHTS = {"video": 56, "prompt": 34, "audio": 40}
TRACK_GAP = 2
SNAP_PIXELS = 8
MIN_PPF, MAX_PPF = 0.02, 64.0
_drag_serial = itertools.count()


def track_rows(project: Project) -> list[tuple[Track, float, float]]:
    """(track, top y, height) for each track, in display order (heights the user chose, else by kind)."""
    rows, y = [], 0.0
    for track in project.timeline.tracks:
        height = track_height(track, TRACK_HEIGHTS[track.kind])
        rows.append((track, y, height))
        y += height + TRACK_GAP
    return rows


@dataclasses.dataclass
class _Drag:
    mode: str  # "move", "start" or "end"
    item_ids: list[str]
    press_frame: int
    originals: dict[str, Item]
    track_id: str
    key: tuple
    clicked_id: str
    narrow_on_release: bool  # a plain click on an item of a larger selection selects just it
    moved: bool = False


class TimelineView(QGraphicsView):
    playheadChanged = Signal(int)
    selectionChangedIds = Signal(list)
    status = Signal(str)
    problems = Signal(list)  # messages about dropped files that could not be used
    marksChanged = Signal()
    zoomChanged = Signal(float)  # pixels per frame
    contextMenuRequested = Signal(object)  # global position, over a selected item
    _thumbnailReady = Signal(str, str, str)  # item id, media id, picture file; emitted on the thumbnail thread

    def __init__(self, document: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.setScene(QGraphicsScene(self))
        self.pixels_per_frame = 4.0
        self.setTransform(QTransform.fromScale(self.pixels_per_frame, 1.0))
        self.playhead = 0
        self.mark_in: int | None = None
        self.mark_out: int | None = None
        self.snapping = True
        self.graphics: dict[str, ItemGraphic] = {}
        self.thumbnails = None  # engine.media.thumbnails.ThumbnailService, set by the window
        self.recipe_for = lambda path: None  # path -> the library's record of a generated file
        self._lanes: list = []
        self.transitions = TransitionLayer(self)  # transitions drawn on their cuts (editor/timeline/transitions.py)
        self._drag: _Drag | None = None
        self._handle_drag: audio_handles.HandleDrag | None = None  # a clip's gain line or fade handle
        self.waveforms = WaveformLoader(self)
        self._editor: QLineEdit | None = None
        self.drop_frame: int | None = None  # where a file dragged over the view would start (snapped)
        # () -> engine.generate.limits.ModelLimits of the chosen model (set by the window), for the
        # completions and hints of a prompt block being written; None: the default model's
        self.prompt_limits = None
        self.setViewportMargins(0, RULER_HEIGHT, 0, 0)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBackgroundBrush(style.BACKGROUND)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.ruler = Ruler(self)
        self.marksChanged.connect(self.ruler.update)
        self.marksChanged.connect(self.viewport().update)
        self.scene().selectionChanged.connect(self._on_scene_selectionChanged)
        self._thumbnailReady.connect(self._on_thumbnailReady)
        document.changed.connect(self.sync)
        document.projectReplaced.connect(self._on_document_projectReplaced)
        self.sync()

    @property
    def project(self) -> Project:
        return self.document.project

    # --- mirroring the project -------------------------------------------------------------

    def _on_document_projectReplaced(self) -> None:
        for graphic in self.graphics.values():
            self.scene().removeItem(graphic)
        self.graphics.clear()
        self.sync()
        if self.mark_in is not None or self.mark_out is not None:  # marks belong to the project they were set in
            self.mark_in = self.mark_out = None
            self.marksChanged.emit()

    def sync(self, relayout: bool = False) -> None:
        """Bring the scene in line with the project; `relayout` re-places every item (zoom)."""
        scene = self.scene()
        rows = track_rows(self.project)
        width = max(self.project.timeline.duration, 0) + 30 * self.project.rate.timebase
        for lane in self._lanes:
            scene.removeItem(lane)
        self._lanes = []
        for track, top, height in rows:
            color = QColor(44, 40, 34) if track.kind == "prompt" else style.PANEL.darker(105)
            lane = scene.addRect(QRectF(0, top, width, height), QPen(Qt.PenStyle.NoPen), QBrush(color))
            lane.setZValue(-1)
            self._lanes.append(lane)
        seen = set()
        offline_media = self.document.offline_media
        for track, top, height in rows:
            for item in track.items:
                seen.add(item.id)
                offline = getattr(item, "media_id", None) in offline_media
                graphic = self.graphics.get(item.id)
                if graphic is None:
                    graphic = self.graphics[item.id] = ItemGraphic(item, track, self.project.media, top + 2,
                                                                   height - 4, offline)
                    scene.addItem(graphic)
                    self._request_thumbnail(graphic)
                elif graphic.item is item and graphic.track is not track and not relayout and \
                        graphic.y() == top + 2 and graphic.height() == height - 4 and graphic.offline == offline:
                    # the same item on its track, which changed elsewhere (another item, a flag):
                    # nothing drawn changes, so nothing is placed again
                    graphic.track = track
                elif (relayout or graphic.item is not item or graphic.track is not track or graphic.y() != top + 2
                      or graphic.height() != height - 4 or graphic.offline != offline):
                    shown_media = getattr(graphic.item, "media_id", None)
                    graphic.place(item, track, self.project.media, top + 2, height - 4, offline)
                    if getattr(item, "media_id", None) != shown_media:  # another take: its own picture
                        graphic.thumbnail = None
                        self._request_thumbnail(graphic)
        for item_id in [i for i in self.graphics if i not in seen]:
            scene.removeItem(self.graphics.pop(item_id))
        self.transitions.sync(rows)
        total_height = rows[-1][1] + rows[-1][2] if rows else 0
        scene.setSceneRect(QRectF(0, 0, width, total_height + 40))
        self.ruler.update()
        self.viewport().update()

    def set_thumbnail_service(self, service) -> None:
        self.thumbnails = service
        for graphic in self.graphics.values():
            self._request_thumbnail(graphic)

    def _request_thumbnail(self, graphic: ItemGraphic) -> None:
        """The first picture of a clip or still, made in the background and cached on disk (and
        a clip's waveform)."""
        self.waveforms.request(graphic)
        ref = self.project.media.get(getattr(graphic.item, "media_id", ""))
        if self.thumbnails is None or graphic.offline or ref is None or ref.kind == "audio":
            return
        from engine.media.thumbnails import thumbnail

        item_id = graphic.item.id
        first = graphic.item.source_range.start if ref.kind == "video" else 0
        future = self.thumbnails.request(thumbnail, ref.path, first, self.project.rate, 36)
        future.add_done_callback(
            lambda done: done.exception() is None and self._thumbnailReady.emit(item_id, ref.id, str(done.result())))

    def _on_thumbnailReady(self, item_id: str, media_id: str, picture: str) -> None:
        from PySide6.QtGui import QPixmap

        graphic = self.graphics.get(item_id)
        # a picture of media the item no longer shows (a take switched meanwhile) is dropped
        if graphic is not None and getattr(graphic.item, "media_id", None) == media_id:
            graphic.thumbnail = QPixmap(picture)
            graphic.update()

    def set_zoom(self, pixels_per_frame: float, anchor_view_x: float | None = None) -> None:
        """Zoom around a point of the view (the pointer for Ctrl+wheel), keeping its frame there."""
        pixels_per_frame = min(max(pixels_per_frame, MIN_PPF), MAX_PPF)
        anchor_view_x = self.viewport().width() / 2 if anchor_view_x is None else anchor_view_x
        anchor_frame = self.mapToScene(int(anchor_view_x), 0).x()
        self.pixels_per_frame = pixels_per_frame
        self.setTransform(QTransform.fromScale(pixels_per_frame, 1.0))
        self.horizontalScrollBar().setValue(int(anchor_frame * pixels_per_frame - anchor_view_x))
        self.ruler.update()
        self.zoomChanged.emit(pixels_per_frame)

    def zoom_by(self, factor: float, anchor_view_x: float | None = None) -> None:
        self.set_zoom(self.pixels_per_frame * factor, anchor_view_x)

    # --- coordinates ----------------------------------------------------------------------

    def frame_at(self, view_x: float) -> int:
        return math.floor(self.mapToScene(int(view_x), 0).x() + 0.5 / self.pixels_per_frame)

    def view_x_of(self, frame: int) -> float:
        return self.viewportTransform().map(QPointF(frame, 0)).x()

    def track_at(self, scene_y: float) -> Track | None:
        for track, top, height in track_rows(self.project):
            if top <= scene_y < top + height + TRACK_GAP:
                return track
        return None

    def selected_ids(self) -> list[str]:
        return [g.item.id for g in self.graphics.values() if g.isSelected()]

    def select_ids(self, ids: list[str]) -> None:
        for item_id, graphic in self.graphics.items():
            graphic.setSelected(item_id in ids)

    def set_playhead(self, frame: int) -> None:
        frame = max(0, frame)
        if frame != self.playhead:
            self.playhead = frame
            self.ruler.update()
            self.viewport().update()
            self.playheadChanged.emit(frame)

    def _on_scene_selectionChanged(self) -> None:
        transition = self.transitions.selected()  # a selected transition shows the item it is stored on
        self.selectionChangedIds.emit(self.selected_ids() or ([transition.item_id] if transition else []))

    # --- snapping -----------------------------------------------------------------------------

    def snap_targets(self, exclude: set[str]) -> list[int]:
        targets = [self.playhead, *(m for m in (self.mark_in, self.mark_out) if m is not None)]
        targets += [m.range.start for m in self.project.timeline.markers]
        for _, item in self.project.timeline.items():
            if item.id not in exclude:
                targets += [item.start, item.range.stop]
        return targets

    def _snapped(self, frame: int, exclude: set[str], also: int | None = None) -> int:
        """`frame` moved onto a nearby target; `also` is a second edge (a moved item's end)
        that may snap instead, shifting `frame` by the same amount."""
        if not self.snapping:
            return frame
        tolerance = SNAP_PIXELS / self.pixels_per_frame
        targets = self.snap_targets(exclude)
        best = snap_frame(frame, targets, tolerance)
        if also is not None:
            other = snap_frame(also, targets, tolerance)
            if other != also and (best == frame or abs(other - also) < abs(best - frame)):
                return frame + other - also
        return best

    # --- mouse ----------------------------------------------------------------------------------

    def _graphic_at(self, view_pos) -> ItemGraphic | None:
        for item in self.items(view_pos):
            if isinstance(item, ItemGraphic):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._commit_text_editor()
        if event.button() == Qt.MouseButton.LeftButton and self.transitions.graphic_at(event.position().toPoint()):
            super().mousePressEvent(event)  # the transition takes the click (select, drag its duration)
            return
        graphic = self._graphic_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.RightButton and graphic is not None:
            # Right-clicking an item of the selection keeps the whole selection for the context
            # menu (the scene would clear it, as for a click on empty space); another item is
            # selected alone.
            if not graphic.isSelected():
                self.select_ids([graphic.item.id])
            event.accept()
            return
        if event.button() != Qt.MouseButton.LeftButton or graphic is None:
            if event.button() == Qt.MouseButton.LeftButton and not event.modifiers() & (
                    Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
                self.scene().clearSelection()
            super().mousePressEvent(event)
            return
        modifiers = event.modifiers()
        self._handle_drag = audio_handles.press(self, graphic, event.position())
        if self._handle_drag is not None:
            if not graphic.isSelected():
                self.scene().clearSelection()
                graphic.setSelected(True)
            event.accept()
            return
        if modifiers & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
            graphic.setSelected(not graphic.isSelected())
        elif not graphic.isSelected():
            self.scene().clearSelection()
            graphic.setSelected(True)
        scene_pos = self.mapToScene(event.position().toPoint())
        edge = graphic.edge_at(scene_pos.x(), self.pixels_per_frame)
        ids = [graphic.item.id] if edge else self.selected_ids() or [graphic.item.id]
        if len(ids) > 1:  # several items move by one shift: their linked sound (or picture) too
            ids = with_partners(self.project.timeline, ids)
        originals = {item_id: self.project.timeline.find(item_id)[1] for item_id in ids}
        plain = not modifiers & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
        self._drag = _Drag(edge or "move", ids, self.frame_at(event.position().x()), originals, graphic.track.id,
                           ("drag", next(_drag_serial)), graphic.item.id, plain and len(self.selected_ids()) > 1)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        if self._handle_drag is not None:
            audio_handles.drag_to(self, self._handle_drag, event.position())
            return
        if drag is None:
            graphic = self._graphic_at(event.position().toPoint())
            edge = (graphic.edge_at(self.mapToScene(event.position().toPoint()).x(), self.pixels_per_frame)
                    if graphic else None)
            handle_cursor = audio_handles.cursor_for(audio_handles.handle_at(self, graphic, event.position()))
            self.viewport().setCursor(handle_cursor or (Qt.CursorShape.SizeHorCursor if edge else
                                                        Qt.CursorShape.ArrowCursor))
            super().mouseMoveEvent(event)
            return
        delta = self.frame_at(event.position().x()) - drag.press_frame
        scene_y = self.mapToScene(event.position().toPoint()).y()
        over = self.track_at(scene_y)
        if delta == 0 and not drag.moved and (over is None or over.id == drag.track_id):
            return
        drag.moved = True
        if drag.mode == "move":
            self._drag_move(drag, delta, scene_y)
        else:
            self._drag_trim(drag, delta)

    def _drag_move(self, drag: _Drag, delta: int, scene_y: float) -> None:
        exclude = set(drag.item_ids)
        lead = drag.originals[drag.item_ids[0]]
        delta = self._snapped(lead.start + delta, exclude, lead.range.stop + delta) - lead.start
        delta = max(delta, -min(item.start for item in drag.originals.values()))
        target = self.track_at(scene_y)
        if len(drag.item_ids) == 1:
            track_id = target.id if target is not None and target.kind == self.project.timeline.find(lead.id)[0].kind \
                else None
            self.document.perform("Move", lambda p: edits.move(p, lead.id, lead.start + delta, track_id), drag.key)
            return
        # several items: take them all, then put them all back shifted, so they may pass each other
        taken = [edits.TakeItem(item_id) for item_id in drag.item_ids]
        put = [edits.PutItem(self.project.timeline.find(i)[0].id, dataclasses.replace(drag.originals[i],
                                                                                        start=drag.originals[i].start + delta))
               for i in drag.item_ids]
        self.document.perform("Move", lambda p: edits.batch(p, [*taken, *put]), drag.key)

    def _drag_trim(self, drag: _Drag, delta: int) -> None:
        original = drag.originals[drag.item_ids[0]]
        exclude = {original.id}
        if drag.mode == "start":
            frame = min(self._snapped(original.start + delta, exclude), original.range.stop - 1)
            self.document.perform("Trim", lambda p: edits.trim_start(p, original.id, frame), drag.key)
        else:
            frame = max(self._snapped(original.range.stop + delta, exclude), original.start + 1)
            self.document.perform("Trim", lambda p: edits.trim_end(p, original.id, frame), drag.key)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if self._handle_drag is not None:
            self._handle_drag = None
            event.accept()
            return
        if drag is not None:
            if drag.narrow_on_release and not drag.moved:
                self.select_ids([drag.clicked_id])
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event) -> None:
        menu = self.transitions.menu_at(event.pos(), self)
        if menu is not None:
            menu.exec(event.globalPos())
            return
        graphic = self._graphic_at(event.pos())
        if graphic is None:
            return super().contextMenuEvent(event)
        if not graphic.isSelected():
            self.select_ids([graphic.item.id])
        self.contextMenuRequested.emit(event.globalPos())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        graphic = self._graphic_at(event.position().toPoint())
        if graphic is not None and isinstance(graphic.item, TextBlock):
            self.edit_text(graphic.item.id)
            return
        scene_pos = self.mapToScene(event.position().toPoint())
        track = self.track_at(scene_pos.y())
        if graphic is None and track is not None and track.kind == "prompt":
            self.add_text_block(track, self.frame_at(event.position().x()))
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            self.zoom_by(1.25 ** steps, event.position().x())
            event.accept()
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - event.angleDelta().y())
            event.accept()
            return
        super().wheelEvent(event)

    # --- dropping files -------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasFormat(MEDIA_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasFormat(MEDIA_MIME):
            event.acceptProposedAction()
            self._show_drop_frame(max(self._snapped(self.frame_at(event.position().x()), set()), 0))
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:
        self._show_drop_frame(None)
        super().dragLeaveEvent(event)

    def _show_drop_frame(self, frame: int | None) -> None:
        if frame != self.drop_frame:
            self.drop_frame = frame
            self.viewport().update()

    def dropEvent(self, event) -> None:
        self._show_drop_frame(None)
        mime = event.mimeData()
        if mime.hasFormat(MEDIA_MIME):
            paths = bytes(mime.data(MEDIA_MIME)).decode().splitlines()
        else:
            paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if not paths:
            return super().dropEvent(event)
        event.acceptProposedAction()
        self.drop_paths(paths, event.position())

    def drop_paths(self, paths: list[str], view_pos: QPointF) -> bool:
        from engine.media.ingest import media_ref_for

        frame = self.frame_at(view_pos.x())
        under = self.track_at(self.mapToScene(view_pos.toPoint()).y())
        edit, problems = drop_files(self.project, paths, frame, under, media_ref_for, self.recipe_for,
                                    snap=lambda start, stop: self._snapped(start, set(), stop))
        if problems:
            self.problems.emit(problems)
        return edit is not None and self.document.perform("Add media", edit)

    # --- text blocks ------------------------------------------------------------------------------

    def add_text_block(self, track: Track, frame: int) -> str | None:
        """A new prompt block at `frame` (2 s, shortened to fit before the next block), edited in place."""
        before, after = track.neighbours(frame)
        if before is not None and before.range.stop > frame:
            return None
        length = 2 * self.project.rate.timebase
        if after is not None:
            length = min(length, after.start - frame)
        if length < 1:
            return None
        block = TextBlock(new_id(), max(frame, 0), length, "")
        if not self.document.perform("Add prompt", lambda p: edits.insert(p, track.id, block)):
            return None
        self.edit_text(block.id)
        return block.id

    def edit_text(self, item_id: str) -> QLineEdit:
        self._commit_text_editor()
        graphic = self.graphics[item_id]
        rect = self.mapFromScene(graphic.sceneBoundingRect()).boundingRect()
        editor = QLineEdit(graphic.item.text, self.viewport())
        editor.setPlaceholderText("Describe these frames…")
        editor.setGeometry(rect.x() + 2, rect.y() + 2, max(rect.width() - 4, 220), rect.height() - 4)
        editor.setProperty("item_id", item_id)
        self._assist_prompt(editor)
        editor.show()
        editor.setFocus()
        editor.selectAll()
        self._editor = editor
        return editor

    def _assist_prompt(self, editor: QLineEdit) -> None:
        """Completions from the model's vocabulary and examples, and a warning line under the block
        for words the model was not trained on (editor.prompt_assist)."""
        from editor.prompt_assist import PromptHint, assist

        hint = PromptHint(self.viewport())
        geometry = editor.geometry()
        hint.setGeometry(geometry.x(), geometry.bottom() + 2, max(geometry.width(), 480), 48)
        hint.setAutoFillBackground(True)
        editor.destroyed.connect(hint.deleteLater)
        completer = assist(editor, hint, self.prompt_limits)
        editor.setProperty("hint", hint)
        # Enter on a completion takes the completion; Enter otherwise finishes the block
        editor.returnPressed.connect(lambda: None if completer.takes_enter() else self._commit_text_editor())

    def _commit_text_editor(self) -> None:
        editor, self._editor = self._editor, None
        if editor is None:
            return
        item_id, text = editor.property("item_id"), editor.text()
        editor.deleteLater()
        try:
            _, item = self.project.timeline.find(item_id)
        except KeyError:
            return
        if text != item.text:
            self.document.perform("Edit prompt", lambda p: edits.set_text(p, item_id, text))
        self.setFocus()

    def keyPressEvent(self, event) -> None:
        if self._editor is not None and event.key() == Qt.Key.Key_Escape:
            self._editor.deleteLater()
            self._editor = None
            return
        super().keyPressEvent(event)

    # --- painting -------------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        playhead = QPen(style.PLAYHEAD_COLOR, 1.5)
        playhead.setCosmetic(True)  # the scene is scaled horizontally: keep lines one width
        painter.setPen(playhead)
        painter.drawLine(QPointF(self.playhead, rect.top()), QPointF(self.playhead, rect.bottom()))
        marks = QPen(QColor(120, 200, 255, 160), 1, Qt.PenStyle.DashLine)
        marks.setCosmetic(True)
        painter.setPen(marks)
        for mark in (self.mark_in, self.mark_out):
            if mark is not None:
                painter.drawLine(QPointF(mark, rect.top()), QPointF(mark, rect.bottom()))
        if self.drop_frame is not None:  # where a dragged file will start
            drop = QPen(style.ACCENT, 2)
            drop.setCosmetic(True)
            painter.setPen(drop)
            painter.drawLine(QPointF(self.drop_frame, rect.top()), QPointF(self.drop_frame, rect.bottom()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.ruler.setGeometry(0, 0, self.width(), RULER_HEIGHT)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.ruler.update()


class Ruler(QWidget):
    """Timecodes above the tracks; click or drag on it to move the playhead (scrub)."""

    CACHE_BAR = 3  # pixels: the render-ahead bar at the ruler's foot
    KEPT, TO_RENDER = QColor(70, 140, 230), QColor(210, 80, 70)

    def __init__(self, view: TimelineView):
        super().__init__(view)
        self.view = view
        # () -> (transition frames the preview keeps, those it has still to render), set by the
        # main window; drawn as Resolve draws its render cache: blue kept, red not yet
        self.cache_state = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.view.set_playhead(self.view.frame_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.set_playhead(self.view.frame_at(event.position().x()))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.PANEL)
        view = self.view
        rate = view.project.rate
        ppf = view.pixels_per_frame
        base = rate.timebase
        steps = [1, 2, 5, 10, base, 2 * base, 5 * base, 10 * base, 30 * base, 60 * base, 300 * base, 600 * base]
        step = next((s for s in steps if s * ppf >= 90), steps[-1])  # labels at least ~90 px apart
        first = max(view.frame_at(0), 0)
        last = view.frame_at(self.width()) + 1
        painter.setPen(style.TEXT.darker(130))
        font = painter.font()
        font.setPointSizeF(8)
        painter.setFont(font)
        if view.mark_in is not None and view.mark_out is not None:
            left, right = view.view_x_of(view.mark_in), view.view_x_of(view.mark_out)
            painter.fillRect(QRectF(left, 0, right - left, RULER_HEIGHT), QColor(70, 130, 200, 90))
        for frame in range(first - first % step, last + step, step):
            x = view.view_x_of(frame)
            painter.drawLine(int(x), RULER_HEIGHT - 8, int(x), RULER_HEIGHT)
            painter.drawText(int(x) + 3, RULER_HEIGHT - 10, rate.timecode(frame))
        for marker in view.project.timeline.markers:  # a coloured flag at each marker
            mx = int(view.view_x_of(marker.range.start))
            painter.fillRect(QRectF(mx, 0, 7, 8), QColor(marker.color) if QColor.isValidColorName(marker.color)
                             else QColor("green"))
            painter.drawLine(mx, 0, mx, RULER_HEIGHT)
        if self.cache_state is not None:
            kept, to_render = self.cache_state()
            for frames, colour in ((kept, self.KEPT), (to_render, self.TO_RENDER)):
                for frame in frames:
                    left = view.view_x_of(frame)
                    painter.fillRect(QRectF(left, RULER_HEIGHT - self.CACHE_BAR, max(ppf, 1.0), self.CACHE_BAR), colour)
        x = view.view_x_of(view.playhead)
        painter.setPen(QPen(style.PLAYHEAD_COLOR, 2))
        painter.drawLine(int(x), 0, int(x), RULER_HEIGHT)
