"""Transitions on the timeline: drawn over the cut they belong to, selectable, deletable, with a
handle at either end to drag their duration; and the menu a right-click on a cut opens.

A transition is drawn in the lower half of its track, over the frames it spans, so the clips
above it can still be grabbed. Dragging either end changes the duration symmetrically about the
cut (one undo step per drag); Delete removes a selected transition. Right-click near a cut
between two touching pictures offers the classic transitions and, one click away, the AI blend
of the same two clips. A clip overlapping a picture on another video track offers, in its menu,
a cross-dissolve over the overlap (an opacity ramp on the upper clip) and the AI blend.
"""

from __future__ import annotations

import dataclasses
import itertools

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction, QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QMenu, QWidget

from engine.errors import EditError
from engine.model import transition_edits, transitions
from engine.model.curves import Curve
from engine.model.items import Clip, Still
from engine.model.transition import Transition
from engine.model.transitions import TransitionSpan

CUT_PIXELS = 8  # how close to a cut a right-click must be to offer transitions there
HANDLE_PIXELS = 6
_drag_serial = itertools.count()

# (menu text, transition) offered on a cut
CHOICES = (
    ("Add cross-dissolve", Transition("dissolve")),
    ("Add dip to black", Transition("dip", color="#000000")),
    ("Add dip to white", Transition("dip", color="#ffffff")),
    ("Add wipe", Transition("wipe", direction="right")),
)


class TransitionGraphic(QGraphicsItem):
    def __init__(self, layer: TransitionLayer, span: TransitionSpan, top: float, height: float):
        super().__init__()
        self.layer = layer
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(5)
        self.setAcceptHoverEvents(True)
        self._drag: tuple[str, object] | None = None  # (edge, merge key)
        self.place(span, top, height)

    @property
    def item_id(self) -> str:
        """The incoming item: the transition is stored on it."""
        return self.span.incoming.id

    def place(self, span: TransitionSpan, top: float, height: float) -> None:
        self.span = span
        rect = QRectF(0, 0, span.frames.duration, height)
        if rect != getattr(self, "_rect", None):
            self.prepareGeometryChange()
            self._rect = rect
        self.setPos(span.frames.start, top)
        self.setToolTip(f"{span.transition.title}, {span.transition.duration} frames")
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget: QWidget | None = None) -> None:
        device = painter.worldTransform().mapRect(self._rect)
        painter.save()
        painter.resetTransform()
        selected = self.isSelected()
        painter.setPen(QPen(QColor(255, 255, 255) if selected else QColor(230, 230, 240, 200), 2 if selected else 1))
        painter.setBrush(QBrush(QColor(90, 110, 170, 200)))
        painter.drawRect(device)
        if device.width() > 90 and device.height() > 12:  # room for its name
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(device.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter, self.span.transition.title)
        else:
            painter.setPen(QPen(QColor(255, 255, 255, 150), 1))
            painter.drawLine(device.bottomLeft(), device.topRight())  # the usual sign of a transition
            if self.span.transition.kind != "wipe":
                painter.drawLine(device.topLeft(), device.bottomRight())
        painter.setPen(QPen(QColor(255, 255, 255, 150), 1))
        painter.setBrush(QBrush(QColor(255, 255, 255)))
        for x in (device.left(), device.right() - 3):  # the duration handles
            painter.drawRect(QRectF(x, device.top(), 3, device.height()))
        painter.restore()

    def edge_at(self, scene_x: float) -> str | None:
        pixels_per_frame = self.layer.view.pixels_per_frame
        local = (scene_x - self.x()) * pixels_per_frame
        width = self._rect.width() * pixels_per_frame
        if local <= HANDLE_PIXELS:
            return "start"
        if local >= width - HANDLE_PIXELS:
            return "end"
        return None

    def hoverMoveEvent(self, event) -> None:
        edge = self.edge_at(event.scenePos().x())
        self.setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self.scene().clearSelection()
        self.setSelected(True)
        edge = self.edge_at(event.scenePos().x())
        self._drag = (edge, ("transition-drag", next(_drag_serial))) if edge else None
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            return
        edge, key = self._drag
        cut = self.span.cut
        frame = round(event.scenePos().x())
        duration = max(2, 2 * (frame - cut) if edge == "end" else 2 * (cut - frame))
        if duration != self.span.transition.duration:
            self.layer.set_duration(self.item_id, duration, key)

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None
        event.accept()


class TransitionLayer:
    """The transition graphics of one timeline view, kept in line with its project."""

    def __init__(self, view):
        self.view = view
        self.graphics: dict[str, TransitionGraphic] = {}
        self.ai_blend = None  # (outgoing item id, incoming item id) -> None: set by the window

    @property
    def document(self):
        return self.view.document

    def sync(self, rows) -> None:
        scene = self.view.scene()
        seen = set()
        for track, top, height in rows:
            for span in transitions.spans(track):
                item_id = span.incoming.id
                seen.add(item_id)
                graphic = self.graphics.get(item_id)
                if graphic is None:
                    graphic = self.graphics[item_id] = TransitionGraphic(self, span, top + height / 2, height / 2 - 2)
                    scene.addItem(graphic)
                else:
                    graphic.place(span, top + height / 2, height / 2 - 2)
        for item_id in [i for i in self.graphics if i not in seen]:
            scene.removeItem(self.graphics.pop(item_id))

    def graphic_at(self, view_pos) -> TransitionGraphic | None:
        for item in self.view.items(view_pos):
            if isinstance(item, TransitionGraphic):
                return item
        return None

    def selected(self) -> TransitionGraphic | None:
        return next((g for g in self.graphics.values() if g.isSelected()), None)

    # --- edits ---------------------------------------------------------------------------------

    def add(self, item_id: str, transition: Transition) -> bool:
        return self.document.perform(f"Add {transition.title.lower()}",
                                     lambda p: transition_edits.add_transition(p, item_id, transition))

    def set_duration(self, item_id: str, duration: int, merge_key: object = None) -> None:
        _, item = self.document.project.timeline.find(item_id)
        changed = dataclasses.replace(item.transition_in, duration=duration)
        self.document.perform("Transition duration",
                              lambda p: transition_edits.set_transition(p, item_id, changed), merge_key)

    def add_at_playhead(self, transition: Transition = Transition()) -> bool:
        """Put `transition` on the cut nearest the playhead, on the selected item's video track
        (else the top video track with a cut), as Premiere's "apply default transition" does."""
        project, view = self.document.project, self.view
        selected = [project.timeline.find(i)[0] for i in view.selected_ids()]
        candidates = [t for t in selected if t.kind == "video"] or project.timeline.tracks_of("video")
        for track in candidates:
            try:
                item = transition_edits.incoming_at_cut(project, track.id, view.playhead)
            except EditError:
                continue
            return self.add(item.id, transition)
        self.document.editFailed.emit("no cut between two touching clips on a video track; move one clip "
                                      "against another to put a transition between them")
        return False

    def remove(self, item_id: str) -> bool:
        return self.document.perform("Remove transition", lambda p: transition_edits.set_transition(p, item_id, None))

    def remove_selected(self) -> bool:
        """Remove the selected transition, if one is selected (Delete)."""
        graphic = self.selected()
        return graphic is not None and self.remove(graphic.item_id)

    # --- the right-click menu --------------------------------------------------------------------

    def cut_near(self, view_pos) -> tuple[Clip | Still, Clip | Still] | None:
        """(outgoing, incoming) pictures of the cut within CUT_PIXELS of a view position."""
        scene_pos = self.view.mapToScene(view_pos)
        track = self.view.track_at(scene_pos.y())
        if track is None or track.kind != "video":
            return None
        tolerance = CUT_PIXELS / self.view.pixels_per_frame
        for a, b in zip(track.items, track.items[1:]):
            if a.range.stop == b.start and abs(scene_pos.x() - b.start) <= tolerance \
                    and isinstance(a, (Clip, Still)) and isinstance(b, (Clip, Still)):
                return a, b
        return None

    def menu_at(self, view_pos, parent: QWidget) -> QMenu | None:
        """The menu for a right-click at `view_pos`: on a transition, or on a cut; else None."""
        graphic = self.graphic_at(view_pos)
        if graphic is not None:
            outgoing, incoming = graphic.span.outgoing, graphic.span.incoming
        else:
            cut = self.cut_near(view_pos)
            if cut is None:
                return None
            outgoing, incoming = cut
        menu = QMenu("Transition", parent)
        for text, transition in CHOICES:
            if graphic is not None:
                text = text.replace("Add", "Change to")
            menu.addAction(text, lambda t=transition, i=incoming.id: self._add_keeping_duration(i, t))
        if graphic is not None:
            menu.addAction("Remove transition", lambda i=incoming.id: self.remove(i))
        menu.addSeparator()
        blend = menu.addAction("Blend with AI…", lambda: self.ai_blend(outgoing.id, incoming.id))
        blend.setEnabled(self.ai_blend is not None and isinstance(outgoing, Clip) and isinstance(incoming, Clip))
        return menu

    def overlap_of(self, item_id: str):
        """(upper, lower, frames, fades_in) for a picture that overlaps a picture on another
        video track at its head or tail: the upper item's head (fades_in) or tail lies inside
        the lower one over `frames`. None otherwise."""
        timeline = self.document.project.timeline
        track, item = timeline.find(item_id)
        if track.kind != "video" or not isinstance(item, (Clip, Still)):
            return None
        mine = timeline.track_index(track.id)
        for index, other_track in enumerate(timeline.tracks):
            if index == mine or other_track.kind != "video":
                continue
            for other in other_track.items_in(item.range):
                if not isinstance(other, (Clip, Still)):
                    continue
                upper, lower = (item, other) if mine < index else (other, item)
                frames = upper.range.intersection(lower.range)
                if frames is None or frames == upper.range:
                    continue
                return upper, lower, frames, upper.start >= lower.start
        return None

    def add_overlap_entries(self, menu: QMenu | None, ids: list[str], parent: QWidget) -> QMenu | None:
        """Add "Cross-dissolve over the overlap" and "Blend with AI…" to a clip's menu when the
        one selected item overlaps a picture on another video track."""
        found = self.overlap_of(ids[0]) if len(ids) == 1 else None
        if found is None:
            return menu
        upper, lower, frames, fades_in = found
        menu = menu or QMenu("Overlap", parent)
        first = menu.actions()[0] if menu.actions() else None
        dissolve = QAction("Cross-dissolve over the overlap", menu)
        dissolve.triggered.connect(lambda: self.dissolve_overlap(upper.id, frames, fades_in))
        blend = QAction("Blend with AI…", menu)
        blend.triggered.connect(lambda: self.ai_blend(lower.id, upper.id))
        blend.setEnabled(self.ai_blend is not None and isinstance(upper, Clip) and isinstance(lower, Clip))
        menu.insertActions(first, [dissolve, blend])
        if first is not None:
            menu.insertSeparator(first)
        return menu

    def dissolve_overlap(self, upper_id: str, frames, fades_in: bool) -> bool:
        """The upper item's opacity ramps over the overlap (in at its head, out at its tail),
        sampled at frame centres like a transition on a cut; the lower item stays opaque."""
        _, upper = self.document.project.timeline.find(upper_id)
        start, stop = frames.start - upper.start - 0.5, frames.stop - upper.start - 0.5
        ramp = Curve.ramp(start, stop, 0.0, 1.0) if fades_in else Curve.ramp(start, stop, 1.0, 0.0)
        return self.document.perform("Cross-dissolve over the overlap",
                                     lambda p: transition_edits.set_opacity(p, upper_id, ramp))

    def _add_keeping_duration(self, item_id: str, transition: Transition) -> None:
        _, item = self.document.project.timeline.find(item_id)
        if item.transition_in is not None:
            transition = dataclasses.replace(transition, duration=item.transition_in.duration)
        self.add(item_id, transition)
