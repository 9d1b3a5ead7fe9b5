"""Opening, saving, recent files and crash recovery for one main window.

Files are read and written by engine.fileformat.yamlio (saving is atomic and keeps a hand-written file's
comments). While a document has unsaved changes it is written every minute to a recovery file
(``<AppData>/recovery/<hash>.yaml`` plus a ``.json`` naming its owner); a clean close removes
it, so one found at the next start whose owner process is gone is offered for restoring.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QStandardPaths, QTimer, Signal

from designer.dialogs import SaveAnswer
from designer.document import Document
from engine.gcpause import paused_gc
from engine.pipeline import changes as ch
from engine.pipeline.model import Pipeline
from engine.problems import PipelineError, Problem
from engine.procs import alive

if TYPE_CHECKING:
    from designer.window_parts import DocumentWindow

RECENT_KEY = "files/recent"
RECENT_MAX = 10
AUTOSAVE_INTERVAL_MS = 60_000


def default_recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".pipeloom") / "recovery"

    return True


def replace_content(current: Pipeline, recovered: Pipeline) -> ch.Change:
    """One change turning `current` into `recovered` (nodes and every pipeline section)."""
    parts: list[ch.Change] = [ch.RemoveNode(name) for name in reversed(list(current.nodes))]
    for section in ("computes", "environments", "parameters"):
        parts += [ch.SetEntry(section, key, None) for key in getattr(current, section)]
        parts += [ch.SetEntry(section, k, v) for k, v in getattr(recovered, section).items()]
    for key in ("name", "description", "datastore", "export"):
        if getattr(current, key) != getattr(recovered, key):
            parts.append(ch.SetEntry("meta", key, getattr(recovered, key)))
    parts += [ch.AddNode(node) for node in recovered.copy().nodes.values()]
    return ch.Group(parts, label="Restore unsaved changes")


def read_pipeline(path: str | Path) -> Pipeline:
    """Load a pipeline file; raises PipelineError (located problems) for anything unreadable."""
    from engine.fileformat import yamlio

    try:
        return yamlio.load(str(path))
    except OSError as e:
        raise PipelineError(f"cannot read the file: {e.strerror or e}", str(path)) from None


class FileController(QObject):
    """File commands of a main window: new, open, save, save as, recent files, recovery."""

    recentChanged = Signal()
    openFailed = Signal(str, list)  # path, list[Problem]

    def __init__(self, window: DocumentWindow, recovery_dir: str | Path | None = None):
        super().__init__(window)
        self.window = window
        self.recovery_dir = Path(recovery_dir) if recovery_dir else default_recovery_dir()
        self._untitled_key = f"untitled-{os.getpid()}-{id(self):x}"
        self._autosaved_index: int | None = None  # undo index at the last autosave
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()

    @property
    def document(self) -> Document:
        return self.window.document

    @property
    def dialogs(self):
        return self.window.dialogs

    # -- commands ------------------------------------------------------------------
    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self.remove_recovery()
        self.window.set_document(Document())
        return True

    def open(self, path: str | Path | None = None) -> bool:
        """Open `path` (asking for one when None) after offering to save unsaved work."""
        if path is None:
            start = str(self.document.base_dir) if self.document.path else ""
            path = self.dialogs.ask_open_file(start)
            if not path:
                return False
        if not self.maybe_save():
            return False
        return self.load(path)

    def load(self, path: str | Path) -> bool:
        """Replace the window's document by the file at `path`; a broken file leaves the
        current document and lists the file's problems instead."""
        path = Path(path).absolute()
        try:
            with paused_gc():  # the model and canvas items live on: nothing for it to collect
                pipeline = read_pipeline(path)
        except PipelineError as e:
            if not path.exists() and str(path) in self.recent_files():
                self._forget_recent(path)
            self._show_open_problems(path, e.problems)
            return False
        self.remove_recovery()
        with paused_gc():
            document = Document(pipeline, path)
            self.window.set_document(document)
        self.add_recent(path)
        self.offer_recovery_for(path)
        return True

    def _show_open_problems(self, path: Path, problems: list[Problem]) -> None:
        self.openFailed.emit(str(path), problems)
        first = problems[0] if problems else Problem(None, None, "error", "unreadable file")
        more = f"\n\n…and {len(problems) - 1} more (see Problems)." if len(problems) > 1 else ""
        self.dialogs.error(
            "Cannot open pipeline",
            f"{path.name} cannot be opened:\n\n{first.format(str(path))}{more}",
        )

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self) -> bool:
        doc = self.document
        suggested = str(doc.path) if doc.path else str(Path.cwd() / f"{doc.pipeline.name}.yaml")
        path = self.dialogs.ask_save_file(suggested)
        if not path:
            return False
        return self._write(Path(path).absolute())

    def _write(self, path: Path) -> bool:
        from engine.fileformat import yamlio

        doc = self.document
        try:
            yamlio.save(doc.pipeline, str(path))
        except (OSError, PipelineError) as e:
            self.dialogs.error("Cannot save pipeline", f"{path.name} could not be saved:\n\n{e}")
            return False
        old_recovery = self.recovery_path()
        if doc.path != path:
            doc.set_path(path)
        doc.mark_saved()
        self._remove_recovery_files(old_recovery)
        self.remove_recovery()
        self.add_recent(path)
        self.window.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def maybe_save(self) -> bool:
        """True when the caller may drop the current document (saved, discarded or clean)."""
        if not self.document.modified:
            return True
        answer = self.dialogs.ask_save_changes(self.document.display_name())
        if answer == SaveAnswer.SAVE:
            return self.save()
        return answer == SaveAnswer.DISCARD

    # -- recent files --------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = QSettings().value(RECENT_KEY, [])
        if isinstance(value, str):  # INI settings return a one-element list as a string
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path).absolute())
        files = [path] + [p for p in self.recent_files() if p != path]
        QSettings().setValue(RECENT_KEY, files[:RECENT_MAX])
        self.recentChanged.emit()

    def _forget_recent(self, path: Path) -> None:
        QSettings().setValue(RECENT_KEY, [p for p in self.recent_files() if p != str(path)])
        self.recentChanged.emit()

    def clear_recent(self) -> None:
        QSettings().setValue(RECENT_KEY, [])
        self.recentChanged.emit()

    # -- recovery ------------------------------------------------------------------
    def recovery_key(self, path: Path | None = None) -> str:
        path = path if path is not None else self.document.path
        if path is None:
            return self._untitled_key
        return hashlib.sha1(str(Path(path).absolute()).encode()).hexdigest()[:16]

    def recovery_path(self, path: Path | None = None) -> Path:
        return self.recovery_dir / f"{self.recovery_key(path)}.yaml"

    def autosave_now(self) -> Path | None:
        """Write unsaved work to the recovery file (nothing when clean or unchanged)."""
        from engine.fileformat import yamlio

        doc = self.document
        if not doc.modified:
            self.remove_recovery()
            return None
        index = doc.undo_stack.index()
        target = self.recovery_path()
        if self._autosaved_index == index and target.exists():
            return target
        try:
            self.recovery_dir.mkdir(parents=True, exist_ok=True)
            text = yamlio.dumps(doc.pipeline)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
            meta = {
                "path": str(doc.path) if doc.path else None,
                "pid": os.getpid(),
                "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            target.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
        except OSError as e:
            self.window.statusBar().showMessage(f"Autosave failed: {e}", 6000)
            return None
        self._autosaved_index = index
        return target

    def remove_recovery(self) -> None:
        self._remove_recovery_files(self.recovery_path())
        self._autosaved_index = None

    @staticmethod
    def _remove_recovery_files(target: Path) -> None:
        for p in (target, target.with_suffix(".json")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def _orphan_meta(self, yaml_path: Path) -> dict | None:
        """The recovery file's meta when its owner process is gone, else None."""
        meta_path = yaml_path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not yaml_path.exists() or alive(int(meta.get("pid", 0)) or -1):
            return None
        return meta

    def offer_recovery_for(self, path: Path) -> bool:
        """After opening `path`: restore an orphaned recovery copy of it if the user wants."""
        target = self.recovery_path(path)
        meta = self._orphan_meta(target)
        if meta is None:
            return False
        return self._offer(target, meta, path.name)

    def offer_startup_recovery(self) -> bool:
        """At start without a file: offer the newest work left unsaved by a crashed session
        (an untitled pipeline, or a file, which is then opened)."""
        if not self.recovery_dir.is_dir():
            return False
        found = []
        for yaml_path in self.recovery_dir.glob("*.yaml"):
            meta = self._orphan_meta(yaml_path)
            if meta is not None:
                found.append((yaml_path.stat().st_mtime, yaml_path, meta))
        if not found:
            return False
        _, yaml_path, meta = max(found, key=lambda f: f[0])
        path = meta.get("path")
        if path is None:
            return self._offer(yaml_path, meta, "Untitled")
        if Path(path).is_file():
            return self.load(path) and self.document.modified  # loading offers the copy
        return self._offer(yaml_path, meta, Path(path).name)  # the file is gone: keep the work

    def _offer(self, target: Path, meta: dict, name: str) -> bool:
        from engine.fileformat import yamlio

        restore = self.dialogs.ask_restore(name, meta.get("saved", "?"))
        try:
            recovered = yamlio.loads(target.read_text(encoding="utf-8")) if restore else None
        except (OSError, PipelineError) as e:
            self.dialogs.error("Cannot restore", f"The recovery copy is unreadable:\n\n{e}")
            recovered = None
        self._remove_recovery_files(target)
        if recovered is None:
            return False
        self.document.push(replace_content(self.document.pipeline, recovered))
        self.autosave_now()
        return True
