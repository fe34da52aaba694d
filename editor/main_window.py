"""The main window: rearrangeable docks around the preview, the creation bar, menus, and the
project's life cycle (open with recovery, save with backups, autosave, relink)."""

from __future__ import annotations

import os
import uuid

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QToolBar, QWidget

from editor.actions import NavigationActions, TimelineActions, TransportActions, about_text, shortcuts_dialog
from editor.bridge import JobBridge
from editor.clip_tools import ClipTools
from editor.creation_bar import CreationBar, output_path_for
from editor.curves.editor import CurveEditor
from editor.document import Document
from editor.inspector import Inspector, scrolling
from editor.jobs_panel import JobsPanel
from editor.library.panel import LibraryPanel
from editor.preview.player import PreviewPlayer
from editor.project_files import ProjectFiles
from editor.timeline.panel import TimelinePanel
from editor.timeline.tracks import TrackActions
from editor.title_action import title_action
from engine.errors import KinoraError
from engine.jobs.queue import Job
from engine.model.items import Clip
from engine.model.project import Project, new_project
from engine.time import FrameRange


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None, *, start_worker: bool = True):
        super().__init__()
        self.setObjectName("KinoraMainWindow")
        self.setDockNestingEnabled(True)
        self.resize(1440, 900)
        self.document = Document(project or new_project(), self)
        self.bridge = JobBridge(parent=self)
        self.files = ProjectFiles(self, self.document)

        self.preview = PreviewPlayer(self.document)
        self.setCentralWidget(self.preview)
        self.timeline = TimelinePanel(self.document)
        self.timeline_dock = self._dock("Timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.library = LibraryPanel(self._open_library(), self._thumbnail_service())
        self.library_dock = self._dock("Library", self.library, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.timeline.view.set_thumbnail_service(self.library.thumbnails)
        self.timeline.view.recipe_for = self.library.library.generation_for_output
        self.inspector = Inspector(self.document)
        self.inspector_dock = self._dock("Inspector", scrolling(self.inspector), Qt.DockWidgetArea.RightDockWidgetArea)
        self.curves = CurveEditor(self.document)
        self.curves_dock = self._dock("Curves", self.curves, Qt.DockWidgetArea.RightDockWidgetArea)
        self.jobs = JobsPanel(self.bridge)
        self.jobs_dock = self._dock("Jobs", self.jobs, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.curves_dock)
        self.tabifyDockWidget(self.curves_dock, self.jobs_dock)
        self.inspector_dock.raise_()
        self.creation_bar = CreationBar(project_size=lambda: (self.project.settings.width,
                                                              self.project.settings.height))
        bar = QToolBar("Create", self)
        bar.setObjectName("CreateBar")
        bar.addWidget(self.creation_bar)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, bar)

        self.timeline_actions = TimelineActions(self.document, self.timeline.view, self)
        self.transport_actions = TransportActions(self.preview, self)
        self._landed: set[int] = set()  # jobs whose results were placed (a done job is reported again on polls)
        self._session_token = uuid.uuid4().hex  # results of unsaved projects land in this session only
        self.clip_tools = ClipTools(self, self.submit_request, self._show_problem, self._switch_take,
                                    marks=lambda: (self.timeline.view.mark_in, self.timeline.view.mark_out),
                                    place_token=self._place_token, request_of=self._request_of,
                                    defaults=lambda: (self.creation_bar.sampling(), self.creation_bar.size()))
        self._make_menus()
        self._make_toolbar()
        self.project_label = QLabel()
        self.jobs_label = QLabel()
        self.jobs_label.setToolTip("Running and waiting jobs; the Jobs panel shows them all")
        self.statusBar().addPermanentWidget(self.project_label)
        self.statusBar().addPermanentWidget(self.jobs_label)
        self._connect()
        self._layout_restored = self._restore_layout()
        self._on_jobs_countChanged(self.jobs.active_count())
        self._on_document_changed()
        if start_worker:
            self.bridge.start()

    # --- building -------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "") + "Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    @staticmethod
    def _open_library():
        from engine.library.catalog import Library

        return Library()

    @staticmethod
    def _thumbnail_service():
        from engine.media.thumbnails import ThumbnailService

        return ThumbnailService(workers=1)

    def _connect(self) -> None:
        view = self.timeline.view
        view.playheadChanged.connect(self.preview.seek)
        self.preview.frameChanged.connect(view.set_playhead)
        view.ruler.cache_state = self.preview.cache_state  # the render-ahead bar under the timecodes
        self.preview.cacheChanged.connect(view.ruler.update)
        view.selectionChangedIds.connect(self.inspector.set_selection)
        view.selectionChangedIds.connect(self._on_view_selectionChangedIds)
        view.status.connect(self.statusBar().showMessage)
        view.problems.connect(lambda problems: self._show_problem("\n\n".join(problems)))
        view.contextMenuRequested.connect(self._on_view_contextMenuRequested)
        view.transitions.ai_blend = lambda a, b: self.clip_tools.blend(  # "Blend with AI…" on a cut
            self.project, self.project.timeline.find(a)[1], self.project.timeline.find(b)[1])
        self.inspector.picture.editOpacityRequested.connect(lambda: (  # the Inspector's opacity "Edit…"
            self.curves.kind.setCurrentIndex(self.curves.kind.findData("opacity")), self.curves_dock.raise_()))
        self.document.changed.connect(self._on_document_changed)
        self.document.editFailed.connect(lambda message: self.statusBar().showMessage(message, 6000))
        self.creation_bar.submitted.connect(self.submit_request)
        self.creation_bar.timelineRequested.connect(self._on_creation_bar_timelineRequested)
        self.document.projectReplaced.connect(self._on_document_projectReplaced)
        self.creation_bar.model.currentIndexChanged.connect(self._on_model_chosen)
        self._on_model_chosen()
        self.creation_bar.problem.connect(self._show_problem)
        self.library.actions.reuseRequested.connect(self.creation_bar.load_recipe)
        self.library.actions.requestSubmitted.connect(self.submit_request)
        self.library.actions.tool_defaults = lambda: (self.creation_bar.sampling(), self.creation_bar.size())
        # hints for the Timeline source follow the marks and the edits; prompt blocks complete from the chosen model
        self.creation_bar.timeline_range = lambda: (self.project, self.timeline.plan_strip.generate_range())
        view.marksChanged.connect(self.creation_bar.refresh_hints)
        self.document.changed.connect(self.creation_bar.refresh_hints)
        view.prompt_limits = self.inspector.prompt_limits = self.creation_bar.limits
        self.bridge.jobChanged.connect(self.library.show_job)
        self.bridge.jobProgress.connect(self.library.show_progress)
        self.bridge.jobChanged.connect(self._on_bridge_jobChanged)
        self.bridge.workerProblem.connect(lambda message: self.statusBar().showMessage(message, 10000))
        self.jobs.countChanged.connect(self._on_jobs_countChanged)

    def _make_menus(self) -> None:
        files = self.files
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (
            ("&New Project", QKeySequence.StandardKey.New, files.new),
            ("&Open…", QKeySequence.StandardKey.Open, files.open_dialog),
            ("Open &Recent", None, None),
            ("&Save", QKeySequence.StandardKey.Save, files.save),
            ("Save &As…", QKeySequence.StandardKey.SaveAs, files.save_as),
            ("Project Se&ttings…", None, files.project_settings_dialog),
            (None, None, None),
            ("&Import Media…", QKeySequence("Ctrl+I"), self._on_import_triggered),
            ("&Relink Missing Media…", None, files.relink_dialog),
            ("Import &OpenTimelineIO…", None, files.import_otio),
            ("E&xport OpenTimelineIO…", None, files.export_otio),
            (None, None, None),
            ("&Export Video…", QKeySequence("Ctrl+E"), self._on_export_triggered),
            (None, None, None),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ):
            if text is None:
                file_menu.addSeparator()
                continue
            if slot is None:  # File > Open Recent, filled each time it opens
                self.recent_menu = file_menu.addMenu(text)
                self.recent_menu.aboutToShow.connect(lambda: files.fill_recent_menu(self.recent_menu))
                continue
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        a = self.timeline_actions
        edit_menu = self.menuBar().addMenu("&Edit")
        for action in (a.undo, a.redo, None, a.copy, a.paste, a.delete, a.ripple_delete):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        preferences = QAction("&Preferences…", self)
        # Preferences has no standard key on Linux desktops other than KDE, so Ctrl+, is given too
        preferences.setShortcuts(list(dict.fromkeys([*QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences),
                                                     QKeySequence("Ctrl+,")])))
        preferences.triggered.connect(self._on_preferences_triggered)
        edit_menu.addSeparator()
        edit_menu.addAction(preferences)
        timeline_menu = self.menuBar().addMenu("&Timeline")
        for action in (a.split, a.mark_in, a.mark_out, None, a.zoom_in, a.zoom_out, a.snapping):
            timeline_menu.addSeparator() if action is None else timeline_menu.addAction(action)
        add_dissolve = timeline_menu.addAction("Add Cross-&Dissolve at Playhead")  # editor/timeline/transitions.py
        add_dissolve.setShortcut(QKeySequence("Ctrl+D"))
        add_dissolve.triggered.connect(lambda: self.timeline.view.transitions.add_at_playhead())
        timeline_menu.addSeparator()
        self.navigation = NavigationActions(self.document, self.timeline.view, self.preview, self)
        for action in self.navigation.all():
            timeline_menu.addAction(action)
        markers = timeline_menu.addMenu("Mar&kers")
        markers.aboutToShow.connect(lambda: self.navigation.fill_marker_menu(markers))
        timeline_menu.addSeparator()
        self.track_actions = TrackActions(self.timeline.headers, self)
        for action in self.track_actions.all():
            timeline_menu.addAction(action)
        timeline_menu.addAction(title_action(self.document, self.timeline.view, self))
        self.inspector.effects.playhead = lambda: self.timeline.view.playhead
        self.timeline.view.playheadChanged.connect(self.inspector.effects.on_playhead_moved)
        self.tools_menu = self.menuBar().addMenu("&Tools")
        self.tools_menu.aboutToShow.connect(self._fill_tools_menu)
        playback_menu = self.menuBar().addMenu("&Playback")
        for action in self.transport_actions.all():
            playback_menu.addAction(action)
        self.view_menu = self.menuBar().addMenu("&View")
        for dock in (self.library_dock, self.timeline_dock, self.inspector_dock, self.curves_dock, self.jobs_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addSeparator()
        self.view_menu.addMenu(self.preview.quality_menu)  # editor/preview/quality.py
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&Keyboard Shortcuts…").triggered.connect(lambda: shortcuts_dialog(self).exec())
        help_menu.addAction("&About Kinora").triggered.connect(
            lambda: QMessageBox.about(self, "About Kinora", about_text()))

    def _make_toolbar(self) -> None:
        from PySide6.QtWidgets import QToolButton

        a = self.timeline_actions
        toolbar = QToolBar("Edit", self)
        toolbar.setObjectName("EditToolbar")
        for action in (a.undo_tool, a.redo_tool, None, a.split, a.ripple_delete, a.snapping, None, a.zoom_out, a.zoom_in):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        toolbar.addSeparator()
        tools = QToolButton()
        tools.setText("AI tools")
        tools.setToolTip("Re-cut, remix, blend, loop or vary the selected clip")
        tools.setMenu(self.tools_menu)
        tools.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        toolbar.addWidget(tools)
        export = QAction("Export…", self)
        export.triggered.connect(self._on_export_triggered)
        toolbar.addAction(export)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    @property
    def project(self) -> Project:
        return self.document.project

    def open_project(self, path: str) -> bool:
        return self.files.open(path)

    def save_to(self, path: str) -> bool:
        return self.files.save_to(path)

    # --- jobs ---------------------------------------------------------------------------------

    def submit_job(self, kind: str, params: dict) -> Job | None:
        """Queue a job that is not a generation (an export)."""
        job = self.bridge.submit(kind, params)
        self.statusBar().showMessage(f"Queued job #{job.id}: {kind}", 5000)
        return job

    def submit_request(self, request) -> Job | None:
        """Queue a typed generation request; when its conditioning media shows people, ask for
        consent first."""
        from dataclasses import replace

        from engine.jobs.request_job import job_params

        try:
            inputs = request.inputs()
        except KinoraError as error:
            self._show_problem(str(error))
            return None
        consent = self._ask_consent(inputs)
        if consent is None:
            self.statusBar().showMessage("Not generated: no consent for the people shown", 6000)
            return None
        if consent:
            request = request.with_sampling(consent=True)
        if not self._confirm_cost(request):
            self.statusBar().showMessage("Not queued: the job would take long; lower the size, length or steps", 6000)
            return None
        if request.place is not None and not request.place.get("document"):
            request = replace(request, place={**request.place, "document": self._place_token()})
        job = self.bridge.submit(request.tool, job_params(request))
        self.statusBar().showMessage(f"Queued job #{job.id}: {request.tool}", 5000)
        return job

    def _confirm_cost(self, request) -> bool:
        """Say before a job runs when it will take more than a few minutes on this machine."""
        from engine.generate.cost import describe, estimate_request

        try:
            guess = estimate_request(request)
        except KinoraError:
            return True  # the job reports what is wrong when it runs
        if guess is None or not guess.long:
            return True
        answer = QMessageBox.question(
            self, "A long job", f"This {request.tool} will take {describe(guess)}.\n\nQueue it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def _request_of(self, clip: Clip) -> dict | None:
        """The request that made a generated clip, from the library (clips keep only its id)."""
        library_id = (clip.generation or {}).get("library_id")
        if library_id is None:
            return None
        try:
            return (self.library.library.generation(int(library_id)).get("settings") or {}).get("request")
        except (KinoraError, ValueError, TypeError):
            return None

    def _place_token(self) -> str:
        return self.project.path or self._session_token

    def _on_document_projectReplaced(self) -> None:
        self._session_token = uuid.uuid4().hex

    def _ask_consent(self, paths: list[str]) -> bool | None:
        """True when the user confirms consent, False when none was needed or the policy only
        warns, None when they decline (the job is not queued). Faces are found on this machine."""
        from engine.safety.faces import faces_in_file
        from engine.user_settings import load_settings

        policy = load_settings().face_consent
        if policy == "off" or not paths:
            return False
        try:
            people = [path for path in dict.fromkeys(paths) if faces_in_file(path)]
        except KinoraError:
            return False  # a file that cannot be read fails in the job with its own message
        if not people:
            return False
        names = ", ".join(os.path.basename(path) for path in people)
        if policy == "warn":
            QMessageBox.information(self, "People in the conditioning media",
                                    f"{names} shows a person. Make sure you have their consent.")
            return False
        answer = QMessageBox.question(
            self, "Consent of the people shown",
            f"{names} shows a person. Generating from it can put them in a video they never made.\n\n"
            "Do you have the consent of the people shown?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return True if answer == QMessageBox.StandardButton.Yes else None

    def _on_creation_bar_timelineRequested(self) -> None:
        request = self.storyboard_request()
        if request is not None:
            self.submit_request(request)

    def _on_model_chosen(self, _index: int = 0) -> None:
        """The plan strip draws latent frames and windows as the chosen model will make them (read
        from its configs, nothing loaded)."""
        from engine.generate.caps import DEFAULT_LAYOUT_CAPS
        from engine.generate.models import resolve
        from engine.generate.planning import planning_caps

        try:
            caps = planning_caps(resolve(self.creation_bar.model.currentData()))
        except KinoraError:
            caps = DEFAULT_LAYOUT_CAPS  # no usable model: the creation bar says so when generating
        self.timeline.plan_strip.set_caps(caps)
        self.creation_bar.refresh_hints()  # the Timeline range is counted in the new model's frames

    def storyboard_request(self):
        """The Storyboard request of the timeline's marked range (the whole timeline when nothing
        is marked), with the creation bar's settings; its result lands on a new track above."""
        frames = self.timeline.plan_strip.generate_range()
        if frames is None:
            self._show_problem("The timeline is empty: add prompt blocks, stills or clips, and mark the range "
                               "to generate with I and O")
            return None
        videos = self.project.timeline.tracks_of("video")
        place = {"mode": "track_above", "track_id": videos[0].id, "start": frames.start} if videos else None
        try:
            return self.creation_bar.storyboard(self.project, frames, output_path_for("storyboard"), place)
        except KinoraError as error:
            self._show_problem(str(error))
            return None

    def _on_bridge_jobChanged(self, job: Job) -> None:
        if job.state == "failed":
            self.statusBar().showMessage(f"Job #{job.id} failed: {job.error}", 15000)
        elif job.state == "done" and job.kind != "render" and job.id not in self._landed:
            self._landed.add(job.id)
            from editor.results import land, place_matches

            request = job.params.get("request") if isinstance(job.params.get("request"), dict) else {}
            place = request.get("place")
            if place_matches(place, self._session_token, self.project):
                outcome = land(self.document, place, job.outputs, self.library.library.generation_for_output)
                self.statusBar().showMessage(f"Job #{job.id} done: {outcome}", 8000)
            else:
                self.statusBar().showMessage(f"Job #{job.id} done: drag the result from the Library onto the "
                                             "timeline", 8000)

    def _on_jobs_countChanged(self, count: int) -> None:
        self.jobs_label.setText(f"{count} job{'s' if count != 1 else ''} running" if count else "No jobs running")

    # --- tools on clips -----------------------------------------------------------------------------

    def _selected_clips(self) -> list[Clip]:
        clips = []
        for item_id in self.timeline.view.selected_ids():
            _, item = self.project.timeline.find(item_id)
            if isinstance(item, Clip):
                clips.append(item)
        return clips

    def _switch_take(self, clip_id: str, media_id: str) -> None:
        from engine.model import edits

        self.document.perform("Switch take", lambda p: edits.switch_take(p, clip_id, media_id))

    def _fill_tools_menu(self) -> None:
        self.tools_menu.clear()
        menu = self.clip_tools.menu(self.project, self._selected_clips())
        if menu is None:
            self.tools_menu.addAction("Select a video clip to use the AI tools").setEnabled(False)
        else:
            for action in menu.actions():
                self.tools_menu.addAction(action)
            self._tools_source = menu  # keep the submenus alive while shown

    def _on_view_contextMenuRequested(self, global_pos) -> None:
        from editor.timeline.links import add_unlink_entry

        menu = self.clip_tools.menu(self.project, self._selected_clips())
        menu = self.timeline.view.transitions.add_overlap_entries(menu, self.timeline.view.selected_ids(), self)
        menu = add_unlink_entry(menu, self.document, self.timeline.view.selected_ids(), self)
        if menu is not None:
            menu.exec(global_pos)

    # --- other commands ------------------------------------------------------------------------------

    def _on_view_selectionChangedIds(self, ids: list[str]) -> None:
        self.curves.set_item(ids[0] if len(ids) == 1 else None)

    def _on_document_changed(self) -> None:
        self.setWindowTitle(f"{self.document.title} — Kinora")
        s = self.project.settings
        offline = len(self.document.offline_media)
        self.project_label.setText(f"{s.width}×{s.height} · {s.rate} fps · {len(self.project.media)} media"
                                   + (f" · {offline} offline" if offline else ""))

    def _on_import_triggered(self) -> None:
        self.library.import_dialog()

    def _on_export_triggered(self) -> None:
        from editor.dialogs.export import ExportDialog

        view = self.timeline.view
        marked = (FrameRange(view.mark_in, view.mark_out + 1)
                  if view.mark_in is not None and view.mark_out is not None else None)
        ExportDialog(self.project, self.bridge, marked, self).exec()

    def _on_preferences_triggered(self) -> None:
        from editor.dialogs.settings import SettingsDialog
        from engine.user_settings import load_settings

        warnings: list[str] = []
        dialog = SettingsDialog(load_settings(warnings), self)
        if warnings:
            self.statusBar().showMessage(warnings[0], 8000)
        if dialog.exec():
            self.files.autosaver_interval_changed()
            self.creation_bar.reload_choices()

    def _show_problem(self, message: str) -> None:
        QMessageBox.warning(self, "Kinora", message)

    # --- layout and closing ------------------------------------------------------------------------

    def _restore_layout(self) -> bool:
        """The dock layout the user left last time; False when there is none yet."""
        settings = QSettings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        return state is not None and self.restoreState(state)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_restored:  # first start: a roomy timeline and narrow side panels
            self._layout_restored = True
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.timeline_dock], [max(self.height() * 2 // 5, 300)], Qt.Orientation.Vertical)
        self.resizeDocks([self.library_dock, self.inspector_dock], [300, 340], Qt.Orientation.Horizontal)

    def closeEvent(self, event) -> None:
        if not self.files.confirm_close():
            event.ignore()
            return
        self.preview.shutdown()
        self.bridge.stop()
        if self.library.thumbnails is not None:
            self.library.thumbnails.shutdown()
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        super().closeEvent(event)
