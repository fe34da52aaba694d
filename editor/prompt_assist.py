"""Completions and hints for any line where a prompt is typed (the creation bar, a prompt
block on the timeline, the Inspector), from what the chosen model declares it understands
(engine.generate.limits): its example prompts complete the whole line, its vocabulary the word
being typed, and a prompt outside them gets a warning line before anything is generated."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLabel, QLineEdit, QWidget

from engine.generate.limits import ModelLimits, limits_of, prompt_hints, word_completions

MAX_EXAMPLES = 6
HINT_STYLE = "color: #e0a040;"  # amber: advice, not an error
_CURRENT_WORD = re.compile(r"[^\W\d_]*$")
# Keys the open popup uses, even where the window has them as shortcuts (Up/Down: previous/next edit)
_POPUP_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Return,
               Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab}


class PromptCompleter(QObject):
    """A popup under a QLineEdit offering the model's example prompts that start with the typed
    text (they replace the line) and the vocabulary words that start with the word being typed
    (they replace that word). Only offered while typing; a model declaring nothing offers nothing."""

    def __init__(self, line: QLineEdit, limits: Callable[[], ModelLimits]):
        super().__init__(line)
        self.line = line
        self.limits = limits
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(line)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setMaxVisibleItems(10)
        self.completer.activated[str].connect(self._on_completer_activated)
        self._examples: set[str] = set()
        line.textEdited.connect(self._on_line_textEdited)
        self.completer.popup().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in _POPUP_KEYS:
            event.accept()  # a key for the popup, not the window's shortcut
        return False

    def choices(self, text: str) -> list[str]:
        """What is offered after `text` (up to the cursor): words first, then whole examples."""
        limits = self.limits()
        word = _CURRENT_WORD.search(text).group(0)
        words = [w for w in word_completions(limits, word) if w != word.lower()] if word else []
        lowered = text.lower()
        examples = [e for e in limits.example_prompts if e.lower().startswith(lowered) and e.lower() != lowered]
        return words + examples[:MAX_EXAMPLES]

    def popup_visible(self) -> bool:
        return self.completer.popup().isVisible()

    def takes_enter(self) -> bool:
        """Whether Enter now chooses a completion (a row of the open popup is selected); Enter with
        no row chosen is the line's own (generate, finish the block)."""
        popup = self.completer.popup()
        return popup.isVisible() and popup.currentIndex().isValid()

    def _on_line_textEdited(self, _text: str) -> None:
        before = self.line.text()[: self.line.cursorPosition()]
        choices = self.choices(before)
        if not choices:
            self.completer.popup().hide()
            return
        self._examples = set(self.limits().example_prompts)
        self.model.setStringList(choices)
        rect = self.line.rect()
        rect.setWidth(max(rect.width(), 320))
        self.completer.complete(rect)
        # no row chosen until the arrow keys choose one, so Enter on its own is still the line's
        self.completer.popup().setCurrentIndex(QModelIndex())

    def _on_completer_activated(self, choice: str) -> None:
        text, cursor = self.line.text(), self.line.cursorPosition()
        if choice in self._examples:
            self.line.setText(choice)
            self.line.setCursorPosition(len(choice))
        else:
            before = text[:cursor]
            start = len(before) - len(_CURRENT_WORD.search(before).group(0))
            self.line.setText(text[:start] + choice + text[cursor:])
            self.line.setCursorPosition(start + len(choice))
        self.line.textEdited.emit(self.line.text())  # hints follow; a finished word offers no more words


def typed_so_far(limits: ModelLimits, text: str) -> str:
    """`text` without a last word still being typed (one that begins a word the model knows), so
    "a gr" is not told that "gr" is unknown before the word is finished."""
    word = _CURRENT_WORD.search(text).group(0)
    if word and word_completions(limits, word):
        return text[: len(text) - len(word)]
    return text


class PromptHint(QLabel):
    """The small warning line under a prompt: empty (and hidden) while there is nothing to say."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(HINT_STYLE)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_hints(self, hints: list[str]) -> None:
        self.setText("\n".join(f"⚠ {hint}" for hint in hints))
        self.setToolTip(self.text())
        self.setVisible(bool(hints))


def assist(line: QLineEdit, hint: PromptHint, limits: Callable[[], ModelLimits] | None = None) -> PromptCompleter:
    """Give a prompt line completions and a hint line kept up to date as it is typed."""
    limits = limits or (lambda: limits_of(None))

    def update(text: str) -> None:
        model = limits()
        hint.show_hints(prompt_hints(model, typed_so_far(model, text)) if text.strip() else [])

    line.textChanged.connect(update)
    update(line.text())
    return PromptCompleter(line, limits)
