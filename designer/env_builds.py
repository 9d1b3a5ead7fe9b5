"""The selected environment's build, beside the environment table: its state (built or not,
size, path), a Build button and the build's log. The build runs on a worker thread through
engine.environments, the same code a run uses, so a later run finds it cached.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from designer.document import Document
from engine.environments import EnvState, cache, interpreter_for, state_of
from engine.problems import PipelineError


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class EnvironmentStates:
    """The state of each environment, sizes remembered per build (a build never changes)."""

    def __init__(self) -> None:
        self._sizes: dict[str, int] = {}

    def state(self, document: Document, name: str) -> EnvState | None:
        env = document.pipeline.environments.get(name)
        return state_of(env, document.base_dir) if env is not None else None

    def describe(self, state: EnvState) -> str:
        """`built, 31.0 KB` / `not built` / `no packages` / `error`."""
        if state.built is None:
            return state.state
        key = state.built.key
        if key not in self._sizes:
            self._sizes[key] = cache.folder_size(state.built.path)
        return f"built, {human_size(self._sizes[key])}"


class _Relay(QObject):
    """Carries the worker thread's lines and result to the GUI thread (queued signals)."""

    line = Signal(str, str)  # environment, text
    done = Signal(str, str)  # environment, error ("" when built)


class EnvironmentBuildPanel(QWidget):
    """State, Build action and build log of the environment selected in the table."""

    built = Signal(str)  # emitted when a build ends (ok or not): the table shows the new state

    def __init__(self, document: Callable[[], Document], states: EnvironmentStates, parent=None):
        super().__init__(parent)
        self._document = document
        self._states = states
        self.name: str | None = None
        self.building: set[str] = set()
        self._logs: dict[str, list[str]] = {}  # environment -> lines of its last build
        self._relay = _Relay()
        self._relay.line.connect(self._on_line)
        self._relay.done.connect(self._on_done)
        self.title = QLabel("BUILD")
        self.title.setObjectName("sectionTitle")
        self.state_label = QLabel("")
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.build_button = QPushButton("Rebuild")
        self.build_button.setMinimumWidth(self.build_button.sizeHint().width())
        self.build_button.setToolTip(
            "Build this environment now (runs build it when they need it; a build is cached "
            "until its packages change)"
        )
        self.build_button.clicked.connect(self.build)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setPlaceholderText("The build's output appears here.")
        self.log.setFont(QFont("monospace"))
        self.log.setMaximumBlockCount(5000)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        row = QHBoxLayout()
        row.addWidget(self.state_label, 1)
        row.addWidget(self.build_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.log, 1)
        self.show_environment(None)

    def show_environment(self, name: str | None) -> None:
        self.name = name
        document = self._document()
        state = self._states.state(document, name) if document is not None and name else None
        self.title.setText(f"BUILD OF {name.upper()}" if state else "BUILD")
        if state is None:
            self.state_label.setText("Select an environment.")
        elif name in self.building:
            self.state_label.setText("building…")
        elif state.problem:
            self.state_label.setText(state.problem)
        elif not state.needs_build:
            self.state_label.setText(f"No packages to install: steps run with {state.path}.")
        else:
            self.state_label.setText(self._states.describe(state))
        self.state_label.setToolTip(state.path if state is not None else "")
        self.build_button.setEnabled(
            state is not None and state.needs_build and name not in self.building
        )
        self.build_button.setText("Rebuild" if state is not None and state.built else "Build")
        self.log.setPlainText("\n".join(self._logs.get(name or "", [])))

    def build(self) -> None:
        """Build the selected environment on a worker thread (a complete build is kept)."""
        name, document = self.name, self._document()
        if name is None or document is None or name in self.building:
            return
        env = copy.deepcopy(document.pipeline.environments[name])
        state = self._states.state(document, name)
        if state is not None and state.built is not None:  # Rebuild: drop the old one first
            cache.remove(state.built.key)
        base_dir = document.base_dir
        self.building.add(name)
        self._logs[name] = []
        self.show_environment(name)
        relay = self._relay

        def work() -> None:
            try:
                interpreter_for(env, base_dir, lambda text: relay.line.emit(name, text))
            except PipelineError as e:
                relay.done.emit(name, str(e.problems[0].message))
            except Exception as e:  # noqa: BLE001 - shown in the log, never a crash
                relay.done.emit(name, f"internal error: {e!r}")
            else:
                relay.done.emit(name, "")

        threading.Thread(target=work, name=f"pipeloom-env-{name}", daemon=True).start()

    def _on_line(self, name: str, text: str) -> None:
        self._logs.setdefault(name, []).append(text)
        if name == self.name:
            self.log.appendPlainText(text)

    def _on_done(self, name: str, error: str) -> None:
        self.building.discard(name)
        if error:
            self._on_line(name, f"failed: {error}")
        if name == self.name:
            self.show_environment(name)
        self.built.emit(name)
