"""The Library dock: everything imported and generated, with thumbnails that scrub on hover,
folders, favourites, full-text search over prompts, and running jobs as they progress.

Entries drag onto the timeline (as file paths, MEDIA_MIME). Generations show the recipe
that made them in their tooltip; a generation with several variations shows each take.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor.timeline.drop import MEDIA_MIME
from engine.jobs.queue import Job
from engine.library.catalog import Library
from engine.progress import Progress

ICON = QSize(160, 90)
PATH_ROLE = Qt.ItemDataRole.UserRole
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1  # ("generation" | "media" | "job", id)
FRAMES_ROLE = Qt.ItemDataRole.UserRole + 2
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

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        paths = [item.data(PATH_ROLE) for item in items if item.data(PATH_ROLE)]
        mime.setData(MEDIA_MIME, "\n".join(paths).encode())
        return mime

    def mimeTypes(self) -> list[str]:
        return [MEDIA_MIME]

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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addLayout(filters)
        layout.addWidget(self.grid, 1)
        self.job_items: dict[int, QListWidgetItem] = {}
        self.search.textChanged.connect(self.refresh)
        self.show_combo.currentIndexChanged.connect(self.refresh)
        self.folder_combo.currentIndexChanged.connect(self.refresh)
        self.grid.hovered.connect(self._on_grid_hovered)
        self._thumbnailReady.connect(self._apply_icon)
        self.grid.customContextMenuRequested.connect(self._on_grid_customContextMenuRequested)
        self.import_button.clicked.connect(self.import_dialog)
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
        self.grid.clear()
        self.job_items.clear()
        for kind, entry in self.entries():
            self._add_entry(kind, entry)

    def _add_entry(self, kind: str, entry: dict) -> QListWidgetItem:
        path = entry["output_path"] if kind == "generation" else entry["path"]
        if kind == "generation":
            prompts = entry.get("prompts") or []
            title = prompts[0].get("text", "") if prompts else entry.get("tool", "")
            tooltip = "\n".join([f"{entry['tool']} with {entry['model_id'] or 'the default model'}",
                                 *(f"frames {p.get('start')}–{p.get('stop')}: {p.get('text')}" for p in prompts),
                                 f"seeds: {entry.get('seeds')}", path])
            frames = (entry.get("settings") or {}).get("frames") or 1
        else:
            title = os.path.basename(path)
            probe = entry.get("probe") or {}
            frames = probe.get("num_frames") or 1
            tooltip = f"{path}\n{probe.get('width')}×{probe.get('height')} {probe.get('codec') or ''}"
        item = QListWidgetItem(("★ " if entry.get("favourite") else "") + title[:60])
        item.setToolTip(tooltip)
        item.setData(PATH_ROLE, path)
        item.setData(ENTRY_ROLE, (kind, entry["id"]))
        item.setData(FRAMES_ROLE, int(frames))
        item.setIcon(_placeholder_icon(QColor(70, 70, 80)))
        if not os.path.exists(path):
            item.setText("OFFLINE " + item.text())
        self.grid.addItem(item)
        self._request_thumbnail(item, 0)
        return item

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
        from engine.jobs.request_job import describe

        prompt = describe(job.kind, job.params)
        state = {"queued": "waiting", "running": f"{round(100 * job.progress.fraction)}%"}.get(job.state, job.state)
        item.setText(f"⏳ {state}\n{prompt[:50]}")
        item.setToolTip(job.error or job.message or prompt)

    def show_progress(self, job_id: int, progress: Progress) -> None:
        item = self.job_items.get(job_id)
        if item is None:
            return
        prompt = item.text().split("\n", 1)[-1]
        item.setText(f"⏳ {round(100 * progress.fraction)}%\n{prompt}")
        if progress.preview is not None:
            item.setIcon(QIcon(QPixmap.fromImage(_qimage(progress.preview))))

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
            item.setIcon(QIcon(picture_path))
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
            kind, entry_id = item.data(ENTRY_ROLE)
            menu.addAction("Favourite / unfavourite", lambda: self.toggle_favourite(kind, entry_id))
            move = menu.addMenu("Move to folder")
            move.addAction("(no folder)", lambda: self.move_to_folder(kind, entry_id, None))
            for folder in self.library.folders():
                move.addAction(folder["name"], lambda f=folder["id"]: self.move_to_folder(kind, entry_id, f))
        menu.addAction("New folder…", self._on_new_folder)
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


def _placeholder_icon(color: QColor) -> QIcon:
    pixmap = QPixmap(ICON)
    pixmap.fill(color)
    return QIcon(pixmap)


def _qimage(rgb) -> QImage:
    import numpy as np

    rgb = np.ascontiguousarray(rgb[..., :3])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
