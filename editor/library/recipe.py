"""The Recipe pane under the Library grid: everything that made the chosen entry, readable and
copyable (prompt, model, weights, seed, steps, size, tool, inputs, provenance), and the buttons
that work from it: reuse, re-run, the AI tools, compare takes, rename, trash, reveal.
"""

from __future__ import annotations

import datetime
import os

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.media.provenance import SIDECAR_SUFFIX


def display_name(kind: str, entry: dict) -> str:
    """What the Library calls an entry: the name the user gave it, else its prompt or file name."""
    if entry.get("name"):
        return entry["name"]
    if kind == "generation":
        prompts = entry.get("prompts") or []
        text = next((p.get("text") for p in prompts if isinstance(p, dict) and p.get("text")), "")
        return text or entry.get("tool", "generation")
    return os.path.basename(entry.get("path", ""))


def num_frames(kind: str, entry: dict) -> int:
    if kind == "generation":
        return int((entry.get("plan_summary") or {}).get("num_frames") or (entry.get("settings") or {}).get("frames")
                   or 1)
    return int((entry.get("probe") or {}).get("num_frames") or 1)


def prompt_lines(entry: dict) -> list[str]:
    """"frames 0–63: a red circle", with real frame numbers: a prompt recorded without its span
    (older records) covers the whole output."""
    total = num_frames("generation", entry)
    lines = []
    for prompt in entry.get("prompts") or []:
        if not isinstance(prompt, dict):
            prompt = {"text": str(prompt)}
        start = prompt.get("start") if isinstance(prompt.get("start"), int) else 0
        stop = prompt.get("stop") if isinstance(prompt.get("stop"), int) else total
        lines.append(f"frames {start}–{max(stop - 1, start)}: {prompt.get('text', '')}"
                     + (f" (not: {prompt['negative']})" if prompt.get("negative") else ""))
    return lines


def tooltip(kind: str, entry: dict, path: str) -> str:
    if kind == "generation":
        seeds = ", ".join(str(s) for s in entry.get("seeds") or []) or "unknown"
        return "\n".join([f"{entry['tool']} with {entry.get('model_id') or 'the default model'}",
                          *prompt_lines(entry), f"seed {seeds}", path])
    probe = entry.get("probe") or {}
    return f"{path}\n{probe.get('width')}×{probe.get('height')} {probe.get('codec') or ''}"


def recipe_text(kind: str, entry: dict) -> str:
    """The full recipe of an entry as plain text (what the pane shows and Copy copies)."""
    if kind != "generation":
        probe = entry.get("probe") or {}
        lines = [f"Name: {display_name(kind, entry)}", f"File: {entry.get('path')}",
                 f"Kind: {probe.get('kind') or 'media'} (imported)",
                 f"Size: {probe.get('width')}×{probe.get('height')}, {probe.get('num_frames')} frames"
                 + (f" at {probe.get('rate')} fps" if probe.get("rate") else ""),
                 f"Codec: {probe.get('codec') or 'unknown'}", f"Content hash: {entry.get('content_hash')}"]
        return "\n".join(lines)
    settings = entry.get("settings") or {}
    request = settings.get("request") or {}
    sampling = request.get("sampling") or {}
    summary = entry.get("plan_summary") or {}
    lines = [f"Name: {display_name(kind, entry)}", f"Tool: {entry.get('tool')}",
             "Prompt:", *(f"  {line}" for line in prompt_lines(entry) or ["(none)"])]
    if request.get("negative"):
        lines.append(f"Negative prompt: {request['negative']}")
    lines += [f"Model: {entry.get('model_id') or 'the default model'}"
              + (f" ({sampling['model']})" if sampling.get("model") else ""),
              f"Weights hash: {entry.get('weights_hash') or 'unknown'}",
              f"Seed: {', '.join(str(s) for s in entry.get('seeds') or []) or 'unknown'}",
              f"Steps: {settings.get('steps') or sampling.get('steps') or 'the model default'}",
              f"Guidance: {settings.get('guidance') if settings.get('guidance') is not None else 'the model default'}",
              f"Size: {summary.get('width')}×{summary.get('height')}, {summary.get('num_frames')} frames"
              + (f" at {summary.get('rate')} fps" if summary.get("rate") else ""),
              f"Preset: {entry.get('preset') or 'none'}"]
    takes = settings.get("takes") or []
    if len(takes) > 1:
        lines.append(f"Take {takes.index(entry['output_path']) + 1 if entry['output_path'] in takes else '?'} "
                     f"of {len(takes)} (variations of one request)")
    lines.append("Inputs: " + (", ".join(_inputs(request)) or "none (text only)"))
    provenance = []
    if entry.get("parent_id") is not None:
        provenance.append(f"made from library generation {entry['parent_id']}")
    if entry.get("parent_clip"):
        provenance.append(f"made from {entry['parent_clip']}")
    consent = settings.get("consent") or {}
    if consent:
        provenance.append(f"consent policy {consent.get('policy')}, consent given: {bool(consent.get('consent'))}")
    manifest = entry.get("output_path", "") + SIDECAR_SUFFIX
    if os.path.exists(manifest):
        provenance.append(f"manifest {manifest}")
    lines.append("Provenance: " + ("; ".join(provenance) or "generated by Kinora"))
    lines.append(f"Output: {entry.get('output_path')}")
    if entry.get("created"):
        lines.append(f"Made: {datetime.datetime.fromtimestamp(entry['created']).strftime('%Y-%m-%d %H:%M:%S')}")
    return "\n".join(lines)


def _inputs(request_json: dict) -> list[str]:
    if not request_json:
        return []
    try:
        from engine.generate.requests import request_from_json

        return request_from_json(request_json).inputs()
    except Exception:  # noqa: BLE001 - a recipe whose clip is gone still shows everything else
        return []


class RecipePane(QWidget):
    """The chosen entry's recipe with the buttons that act on it (the panel's actions)."""

    takeStepped = Signal(int)  # -1 or +1: show the previous or next take of a grouped tile

    def __init__(self, actions, parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = QLabel("Choose an entry to see its recipe")
        self.heading.setWordWrap(True)
        self.previous_take = QToolButton()
        self.previous_take.setText("◀")
        self.previous_take.setToolTip("The previous take")
        self.next_take = QToolButton()
        self.next_take.setText("▶")
        self.next_take.setToolTip("The next take")
        self.take_label = QLabel()
        self.previous_take.clicked.connect(lambda: self.takeStepped.emit(-1))
        self.next_take.clicked.connect(lambda: self.takeStepped.emit(1))
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.buttons: dict[str, QToolButton] = {}
        grid = QGridLayout()
        grid.setSpacing(2)
        for index, name in enumerate(("reuse", "rerun", "tools", "compare", "rename", "trash", "reveal", "copy")):
            button = QToolButton()
            button.setDefaultAction(getattr(actions, name))
            button.setToolButtonStyle(button.toolButtonStyle().ToolButtonTextOnly)
            if name == "tools":
                button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            grid.addWidget(button, index // 4, index % 4)
            self.buttons[name] = button
        takes = QHBoxLayout()
        takes.addWidget(self.heading, 1)
        takes.addWidget(self.previous_take)
        takes.addWidget(self.take_label)
        takes.addWidget(self.next_take)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.addLayout(takes)
        layout.addWidget(self.text, 1)
        layout.addLayout(grid)
        self.show_entry(None, None, 1, 1)

    def show_entry(self, kind: str | None, entry: dict | None, take: int, takes: int) -> None:
        self.heading.setText(display_name(kind, entry) if entry else "Choose an entry to see its recipe")
        self.text.setPlainText(recipe_text(kind, entry) if entry else "")
        for widget in (self.previous_take, self.take_label, self.next_take):
            widget.setVisible(takes > 1)
        self.take_label.setText(f"take {take} of {takes}")
