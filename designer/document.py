"""The designer's document: one engine Pipeline, its undo stack, and live validation.

The designer keeps no second copy of pipeline state. Every edit is an engine Change wrapped in a
QUndoCommand (`Document.push`); canvas items and panels observe `modelEvent`.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.pipeline import changes as ch
from engine.pipeline.model import Event, Pipeline
from engine.problems import Problem

MERGE_WINDOW_S = 1.5  # a burst of typing in one field within this window is one undo step
_MERGE_ID = 0x5049  # QUndoCommand.id() for mergeable property edits


class ChangeCommand(QUndoCommand):
    """An engine Change as an undo step. `merge_key` set => consecutive edits of the same key
    within MERGE_WINDOW_S merge into one step."""

    def __init__(
        self, document: Document, change: ch.Change, text: str | None = None, merge_key=None
    ):
        super().__init__(text or change.label)
        self.document = document
        self.change = change
        self.merge_key = merge_key
        self.stamp = time.monotonic()

    def redo(self) -> None:
        self.document.pipeline.apply(self.change)

    def undo(self) -> None:
        self.change.revert(self.document.pipeline)

    def id(self) -> int:
        return _MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ChangeCommand) or other.merge_key != self.merge_key:
            return False
        if other.stamp - self.stamp > MERGE_WINDOW_S:
            return False
        self.change = ch.Group([self.change, other.change], label=self.change.label)
        self.stamp = other.stamp
        return True


class Document(QObject):
    """A pipeline being edited. Signals carry engine events and validation results."""

    modelEvent = Signal(object)  # engine.pipeline.model.Event
    problemsChanged = Signal(list)  # list[Problem]
    pathChanged = Signal(str)
    modifiedChanged = Signal(bool)

    def __init__(
        self, pipeline: Pipeline | None = None, path: str | Path | None = None, parent=None
    ):
        super().__init__(parent)
        self.pipeline = pipeline if pipeline is not None else Pipeline("untitled")
        self.path: Path | None = Path(path) if path else None
        if self.path is not None:
            self.pipeline.path = str(self.path)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.problems: list[Problem] = []
        self._unsubscribe = self.pipeline.subscribe(self._on_event)
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(120)
        self._validate_timer.timeout.connect(self.validate_now)
        self._batch_depth = 0

    # -- editing -------------------------------------------------------------------
    def push(self, change: ch.Change, text: str | None = None, merge_key=None) -> None:
        """Apply `change` as one undo step (raises what the change raises, nothing applied)."""
        self.undo_stack.push(ChangeCommand(self, change, text, merge_key))

    def _on_clean_changed(self, clean: bool) -> None:
        self.modifiedChanged.emit(not clean)

    def _on_event(self, event: Event) -> None:
        self.modelEvent.emit(event)
        self._validate_timer.start()

    # -- state ---------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def display_name(self) -> str:
        return self.path.name if self.path else "Untitled"

    def set_path(self, path: str | Path) -> None:
        self.path = Path(path)
        self.pipeline.path = str(self.path)
        self.pathChanged.emit(str(self.path))

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    def validate_soon(self, delay_ms: int = 0) -> None:
        """Validate on the event loop's next pass, or after `delay_ms` (an opened file: its
        canvas paints first, its problems and badges follow); `validate_now` before that still
        validates at once, and whichever comes first is the only validation."""
        self._validate_timer.start(delay_ms)

    def validate_now(self) -> list[Problem]:
        from engine.planning.validate import validate

        self._validate_timer.stop()
        self._validate_timer.setInterval(120)  # validate_soon's zero delay was for one pass
        self.problems = validate(self.pipeline, base_dir=self.base_dir)
        self.problemsChanged.emit(self.problems)
        return self.problems

    def close(self) -> None:
        self._unsubscribe()
        self._validate_timer.stop()
