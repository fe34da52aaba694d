"""The Library dock: everything imported and generated, with thumbnails that scrub on hover,
folders, favourites, full-text search over prompts, and running jobs as they progress.

Entries drag onto the timeline (as file paths, MEDIA_MIME). The takes of one generation (its
variations) share one tile with a count badge; the Recipe pane under the grid shows the chosen
entry's full recipe, steps through a tile's takes and holds the buttons that work from it
(editor/library/actions.py): reuse, re-run, AI tools, compare, rename, trash, reveal, copy.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QMimeData, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from editor.jobs_panel import preview_pixmap, request_title
from editor.library.actions import LibraryActions
from editor.library.recipe import RecipePane, display_name, num_frames, tooltip
from editor.timeline.drop import MEDIA_MIME
from engine.jobs.queue import Job
from engine.library.catalog import Library
from engine.progress import Progress

ICON = QSize(160, 90)
PATH_ROLE = Qt.ItemDataRole.UserRole
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1  # ("generation" | "media" | "job", id)
FRAMES_ROLE = Qt.ItemDataRole.UserRole + 2
TAKES_ROLE = Qt.ItemDataRole.UserRole + 3  # generation ids of a tile's takes, in take order
TAKE_ROLE = Qt.ItemDataRole.UserRole + 4  # which of them the tile shows
SHOW = ("All", "Generations", "Media", "Favourites")
IMPORT_FILTER = ("Media (*.mp4 *.mov *.mkv *.webm *.avi *.png *.jpg *.jpeg *.webp *.wav *.mp3 *.flac *.m4a);;"
                 "All files (*)")


class _Grid(QListWidget):
    hovered = Signal(QListWidgetItem, float)  # item, pointer x as a fraction of its width

    def __init__(self) -> None:
        super().__init__()
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(ICON)
        self.setGridSize(QSize(ICON.width() + 16, ICON.height() + 42))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWordWrap(True)
        self.setMouseTracking(True)
        self.setDragEnabled(True)
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.undo_stack = None  # the Library's QUndoStack (set by the panel)

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        paths = [item.data(PATH_ROLE) for item in items if item.data(PATH_ROLE)]
        mime.setData(MEDIA_MIME, "\n".join(paths).encode())
        return mime

    def mimeTypes(self) -> list[str]:
        return [MEDIA_MIME]

    def event(self, event) -> bool:
        # Ctrl+Z in the Library undoes the Library's last change (a move to the trash) rather
        # than the timeline's: claiming the key here keeps the window's Undo shortcut out of it.
        if (event.type() == QEvent.Type.ShortcutOverride and event.matches(QKeySequence.StandardKey.Undo)
                and self.undo_stack is not None and self.undo_stack.canUndo()):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Undo) and self.undo_stack is not None:
            self.undo_stack.undo()
            return
        super().keyPressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        item = self.itemAt(event.position().toPoint())
        if item is not None and not event.buttons():
            rect = self.visualItemRect(item)
            self.hovered.emit(item, min(max((event.position().x() - rect.left()) / max(rect.width(), 1), 0.0), 1.0))


class LibraryPanel(QWidget):
    _thumbnailReady = Signal(object, str)  # emitted on the thumbnail thread, handled on the UI thread

    def __init__(self, library: Library, thumbnails=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.thumbnails = thumbnails  # engine.media.thumbnails.ThumbnailService, or None for no pictures
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts…")
        self.search.setClearButtonEnabled(True)
        self.show_combo = QComboBox()
        self.show_combo.addItems(SHOW)
        self.folder_combo = QComboBox()
        self.import_button = QPushButton("Import…")
        filters = QHBoxLayout()
        filters.addWidget(self.show_combo, 1)
        filters.addWidget(self.folder_combo, 1)
        filters.addWidget(self.import_button)
        self.grid = _Grid()
        self.entries_by_key: dict[tuple[str, int], dict] = {}  # (kind, id) -> the entry as listed
        self.compare_dialog = None
        self.actions = LibraryActions(self)
        self.grid.undo_stack = self.actions.undo_stack
        self.recipe = RecipePane(self.actions)
        self.undo_banner = QWidget()
        self.undo_text = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self._on_undo_button_clicked)
        banner = QHBoxLayout(self.undo_banner)
        banner.setContentsMargins(4, 0, 4, 0)
        banner.addWidget(self.undo_text, 1)
        banner.addWidget(self.undo_button)
        self.undo_banner.setVisible(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.grid)
        split.addWidget(self.recipe)
        split.setStretchFactor(0, 3)  # the tiles first: on a laptop's screen an even split left one row of them
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addLayout(filters)
        layout.addWidget(split, 1)
        layout.addWidget(self.undo_banner)
        self.job_items: dict[int, QListWidgetItem] = {}
        self.search.textChanged.connect(self.refresh)
        self.show_combo.currentIndexChanged.connect(self.refresh)
        self.folder_combo.currentIndexChanged.connect(self.refresh)
        self.grid.hovered.connect(self._on_grid_hovered)
        self._thumbnailReady.connect(self._apply_icon)
        self.grid.customContextMenuRequested.connect(self._on_grid_customContextMenuRequested)
        self.import_button.clicked.connect(self.import_dialog)
        self.grid.currentItemChanged.connect(self._on_grid_currentItemChanged)
        self.recipe.takeStepped.connect(self.step_take)
        self._fill_folders()
        self.refresh()

    # --- contents ---------------------------------------------------------------------------

    def import_dialog(self) -> None:
        """Ask for media files and catalogue them (the button here and File > Import Media…)."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Import media", "", IMPORT_FILTER)
        problems = self.import_paths(paths)
        if problems:
            QMessageBox.warning(self, "Kinora", "\n\n".join(problems))

    def import_paths(self, paths: list[str]) -> list[str]:
        """Catalogue files; returns one message for each file that could not be added."""
        from engine.errors import KinoraError

        problems = []
        for path in paths:
            try:
                self.library.add_media(path)
            except KinoraError as error:
                problems.append(str(error))
        if paths:
            self.refresh()
        return problems

    def _fill_folders(self) -> None:
        current = self.folder_combo.currentData()
        self.folder_combo.blockSignals(True)
        self.folder_combo.clear()
        self.folder_combo.addItem("All folders", None)
        for folder in self.library.folders():
            self.folder_combo.addItem(folder["name"], folder["id"])
        index = self.folder_combo.findData(current)
        self.folder_combo.setCurrentIndex(max(index, 0))
        self.folder_combo.blockSignals(False)

    def entries(self) -> list[tuple[str, dict]]:
        show, folder = self.show_combo.currentText(), self.folder_combo.currentData()
        text = self.search.text().strip()
        generations: list[dict] = []
        media: list[dict] = []
        if show in ("All", "Generations", "Favourites"):
            generations = self.library.search(text, limit=500) if text else self.library.list_generations(
                limit=500, favourites=show == "Favourites", folder_id=folder)
            if text and (show == "Favourites" or folder is not None):
                generations = [g for g in generations if (g["favourite"] or show != "Favourites")
                               and (folder is None or g["folder_id"] == folder)]
        if show in ("All", "Media", "Favourites") and not text:
            media = [m for m in self.library.list_media(limit=500)
                     if (m["favourite"] or show != "Favourites") and (folder is None or m["folder_id"] == folder)]
        return [("generation", g) for g in generations] + [("media", m) for m in media]

    def refresh(self) -> None:
        current = self.grid.currentItem()
        keep = current.data(ENTRY_ROLE) if current is not None else None
        self.grid.clear()
        self.job_items.clear()
        self.entries_by_key.clear()
        for kind, group in _grouped(self.entries()):
            for entry in group:
                self.entries_by_key[(kind, entry["id"])] = entry
            self._add_entry(kind, group)
        if keep is not None and keep[0] != "job":
            self.select_entry(*keep)
        self._show_current()

    def _add_entry(self, kind: str, group: list[dict]) -> QListWidgetItem:
        """One tile: a media file, a generation, or the takes of one generation (shown one at a time)."""
        item = QListWidgetItem()
        item.setData(TAKES_ROLE, [entry["id"] for entry in group])
        item.setIcon(_placeholder_icon(QColor(70, 70, 80), len(group)))
        self.grid.addItem(item)
        self._show_take(item, kind, group, 0)
        return item

    def _show_take(self, item: QListWidgetItem, kind: str, group: list[dict], index: int) -> None:
        entry = group[index]
        path = entry["output_path"] if kind == "generation" else entry["path"]
        title = display_name(kind, entry)
        badge = f"{len(group)} takes · " if len(group) > 1 else ""
        text = ("★ " if entry.get("favourite") else "") + badge + title[:60]
        item.setText(text if os.path.exists(path) else "OFFLINE " + text)
        item.setToolTip(tooltip(kind, entry, path) + (f"\ntake {index + 1} of {len(group)}" if len(group) > 1 else ""))
        item.setData(PATH_ROLE, path)
        item.setData(ENTRY_ROLE, (kind, entry["id"]))
        item.setData(FRAMES_ROLE, num_frames(kind, entry))
        item.setData(TAKE_ROLE, index)
        self._request_thumbnail(item, 0)

    # --- the current entry --------------------------------------------------------------------

    def current_entry(self) -> tuple[str | None, dict | None, str]:
        """(kind, entry, path) of the chosen tile's shown take; (None, None, "") when none is chosen."""
        item = self.grid.currentItem()
        if item is None or item.data(ENTRY_ROLE) is None or item.data(ENTRY_ROLE)[0] == "job":
            return None, None, ""
        kind, entry_id = item.data(ENTRY_ROLE)
        entry = self.entries_by_key.get((kind, entry_id))
        return (kind, entry, item.data(PATH_ROLE)) if entry is not None else (None, None, "")

    def current_path(self) -> str:
        return self.current_entry()[2]

    def current_takes(self) -> list[dict]:
        item = self.grid.currentItem()
        if item is None or item.data(ENTRY_ROLE) is None or item.data(ENTRY_ROLE)[0] != "generation":
            return []
        return [self.entries_by_key[("generation", i)] for i in item.data(TAKES_ROLE) or []
                if ("generation", i) in self.entries_by_key]

    def current_take_index(self) -> int:
        item = self.grid.currentItem()
        return int(item.data(TAKE_ROLE) or 0) if item is not None else 0

    def select_entry(self, kind: str, entry_id: int) -> bool:
        """Make the tile holding this entry current, showing that take."""
        for row in range(self.grid.count()):
            item = self.grid.item(row)
            entry = item.data(ENTRY_ROLE)
            if entry is None or entry[0] != kind:
                continue
            ids = item.data(TAKES_ROLE) or [entry[1]]
            if entry_id in ids:
                self.grid.setCurrentItem(item)
                if kind == "generation" and ids.index(entry_id) != self.current_take_index():
                    self.step_take(ids.index(entry_id) - self.current_take_index())
                return True
        return False

    def step_take(self, step: int) -> None:
        """Show the previous or next take on the current tile (it cycles)."""
        takes = self.current_takes()
        item = self.grid.currentItem()
        if len(takes) < 2 or item is None:
            return
        self._show_take(item, "generation", takes, (self.current_take_index() + step) % len(takes))
        self._show_current()

    def _on_grid_currentItemChanged(self, *_items) -> None:
        self._show_current()

    def _show_current(self) -> None:
        kind, entry, _ = self.current_entry()
        self.recipe.show_entry(kind, entry, self.current_take_index() + 1, max(len(self.current_takes()), 1))
        self.actions.update_enabled()

    def show_undo_banner(self, text: str) -> None:
        self.undo_text.setText(text)
        self.undo_banner.setVisible(True)

    def _on_undo_button_clicked(self) -> None:
        self.actions.undo_stack.undo()
        self.undo_banner.setVisible(self.actions.undo_stack.canUndo())

    # --- jobs in progress ---------------------------------------------------------------------

    def show_job(self, job: Job) -> None:
        """A running generation appears at once, with its progress; when done it becomes a
        regular entry from the library."""
        item = self.job_items.get(job.id)
        if job.state == "done":
            if item is not None:
                self.grid.takeItem(self.grid.row(item))
                del self.job_items[job.id]
            self.refresh()
            return
        if job.kind == "render" or job.state in ("cancelled",):
            if item is not None:
                self.grid.takeItem(self.grid.row(item))
                del self.job_items[job.id]
            return
        if item is None:
            item = QListWidgetItem(_placeholder_icon(QColor(90, 60, 130)), "")
            item.setData(ENTRY_ROLE, ("job", job.id))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDragEnabled)
            self.grid.insertItem(0, item)
            self.job_items[job.id] = item
        prompt = _job_prompt(job)
        state = {"queued": "waiting", "running": f"{round(100 * job.progress.fraction)}%"}.get(job.state, job.state)
        item.setText(f"⏳ {state}\n{prompt[:50]}")
        item.setToolTip(job.error or job.message or prompt)

    def show_progress(self, job_id: int, progress: Progress) -> None:
        item = self.job_items.get(job_id)
        if item is None:
            return
        prompt = item.text().split("\n", 1)[-1]
        item.setText(f"⏳ {round(100 * progress.fraction)}%\n{prompt}")
        if progress.preview is not None:  # a tiny preview enlarged to the tile, sharp
            item.setIcon(QIcon(preview_pixmap(progress.preview, ICON.width())))

    # --- thumbnails and hover scrub -------------------------------------------------------------

    def _request_thumbnail(self, item: QListWidgetItem, frame: int) -> None:
        path = item.data(PATH_ROLE)
        if self.thumbnails is None or not path or not os.path.exists(path):
            return
        from engine.media.thumbnails import thumbnail

        future = self.thumbnails.request(thumbnail, path, frame)
        future.add_done_callback(lambda done, item=item: self._thumbnail_ready(item, done))

    def _thumbnail_ready(self, item: QListWidgetItem, future) -> None:
        if future.exception() is None:  # a file that cannot be read keeps its placeholder
            self._thumbnailReady.emit(item, str(future.result()))

    def _apply_icon(self, item: QListWidgetItem, picture_path: str) -> None:
        try:
            takes = len(item.data(TAKES_ROLE) or [])
            item.setIcon(QIcon(_badged(QPixmap(picture_path), takes)) if takes > 1 else QIcon(picture_path))
        except RuntimeError:  # the item went away meanwhile
            pass

    def _on_grid_hovered(self, item: QListWidgetItem, fraction: float) -> None:
        frames = item.data(FRAMES_ROLE) or 1
        if frames > 1:
            self._request_thumbnail(item, min(int(fraction * frames), frames - 1))

    # --- organising --------------------------------------------------------------------------

    def _on_grid_customContextMenuRequested(self, pos) -> None:
        item = self.grid.itemAt(pos)
        menu = QMenu(self)
        if item is not None and item.data(ENTRY_ROLE)[0] != "job":
            self.grid.setCurrentItem(item)
            kind, entry_id = item.data(ENTRY_ROLE)
            a = self.actions
            for action in (a.reuse, a.rerun, a.tools, a.compare, None, a.rename, a.trash, a.reveal, a.copy, None):
                menu.addSeparator() if action is None else menu.addAction(action)
            menu.addAction("Favourite / unfavourite", lambda: self.toggle_favourite(kind, entry_id))
            move = menu.addMenu("Move to folder")
            move.addAction("(no folder)", lambda: self.move_to_folder(kind, entry_id, None))
            for folder in self.library.folders():
                move.addAction(folder["name"], lambda f=folder["id"]: self.move_to_folder(kind, entry_id, f))
        menu.addAction("New folder…", self._on_new_folder)
        if self.actions.undo_stack.canUndo():
            menu.addAction(self.actions.undo)
        menu.exec(self.grid.mapToGlobal(pos))

    def toggle_favourite(self, kind: str, entry_id: int) -> None:
        current = (self.library.generation(entry_id) if kind == "generation" else self.library.media(entry_id))
        self.library.set_favourite(kind, entry_id, not current["favourite"])
        self.refresh()

    def move_to_folder(self, kind: str, entry_id: int, folder_id: int | None) -> None:
        self.library.move_to_folder(kind, entry_id, folder_id)
        self.refresh()

    def _on_new_folder(self) -> None:
        name, ok = QInputDialog.getText(self, "New folder", "Folder name:")
        if ok and name.strip():
            self.library.add_folder(name.strip())
            self._fill_folders()


_placeholders: dict[tuple[int, int], QIcon] = {}  # (colour, takes) -> icon: painted once, not once per tile


def _placeholder_icon(color: QColor, takes: int = 1) -> QIcon:
    key = (color.rgb(), takes)
    if key not in _placeholders:
        pixmap = QPixmap(ICON)
        pixmap.fill(color)
        _placeholders[key] = QIcon(_badged(pixmap, takes) if takes > 1 else pixmap)
    return _placeholders[key]


def _badged(pixmap: QPixmap, count: int) -> QPixmap:
    """The picture with a round count badge in its corner: this tile holds `count` takes."""
    pixmap = pixmap.copy()
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    size = max(min(pixmap.height() // 3, 28), 14)
    badge = QRect(pixmap.width() - size - 3, 3, size, size)
    painter.setBrush(QColor(30, 110, 220))
    painter.setPen(QColor(255, 255, 255))
    painter.drawEllipse(badge)
    font = QFont(painter.font())
    font.setPixelSize(size * 3 // 5)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(count))
    painter.end()
    return pixmap


def _grouped(entries: list[tuple[str, dict]]) -> list[tuple[str, list[dict]]]:
    """Entries with the takes of one generation together, in the listing's order: takes made by
    one request share its list of take files (settings["takes"]); each keeps its own record."""
    groups: dict[tuple, tuple[str, list[dict]]] = {}
    for kind, entry in entries:
        takes = (entry.get("settings") or {}).get("takes") if kind == "generation" else None
        key = ("takes", tuple(takes)) if isinstance(takes, list) and len(takes) > 1 else (kind, entry["id"])
        groups.setdefault(key, (kind, []))[1].append(entry)
    for _kind, group in groups.values():
        if len(group) > 1:
            takes = group[0]["settings"]["takes"]
            group.sort(key=lambda e: (takes.index(e["output_path"]) if e["output_path"] in takes else len(takes),
                                      e["id"]))
    return list(groups.values())


def _job_prompt(job: Job) -> str:
    from editor.jobs_panel import TOOL_NAMES

    try:
        from engine.jobs.request_job import request_of

        return request_title(request_of(job.kind, job.params))
    except Exception:  # noqa: BLE001 - a job that cannot be read still shows; it fails with its message
        return TOOL_NAMES.get(job.kind, job.kind)
