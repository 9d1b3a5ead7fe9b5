"""Canvas colours for the light and dark themes; the theme switcher calls set_canvas_theme.

Items read `colors()` when they paint and cache brushes/pens per theme generation, so a switch
costs one repaint, not a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtGui import QColor


@dataclass(frozen=True)
class CanvasColors:
    name: str
    background: str
    grid_minor: str
    grid_major: str
    node_fill: str
    node_header: str  # the title band is the fill mixed with the kind's accent
    node_border: str
    node_shadow: str
    title_text: str
    port_text: str
    accents: dict[str, str] = field(default_factory=dict)  # node type -> accent
    port_kinds: dict[str, str] = field(default_factory=dict)  # tabular / file / None
    wire: str = "#8a94a3"
    wire_selected: str = "#2f7ce8"
    selection: str = "#2f7ce8"
    compatible: str = "#2ea86b"
    refused: str = "#d64545"
    error: str = "#d64545"
    warning: str = "#e0a019"
    rubber_band: str = "#2f7ce8"
    minimap_fill: str = "#ffffff"
    minimap_view: str = "#2f7ce8"
    status: dict[str, str] = field(default_factory=dict)

    def qcolor(self, value: str, alpha: int | None = None) -> QColor:
        c = QColor(value)
        if alpha is not None:
            c.setAlpha(alpha)
        return c

    def accent(self, node_type: str) -> str:
        return self.accents.get(node_type, self.accents.get("unknown", "#8a94a3"))

    def port_color(self, kind: str | None) -> str:
        return self.port_kinds.get(kind or "", self.port_kinds.get("", "#9aa3ae"))


_ACCENTS = {"dataset": "#2f7ce8", "spark-step": "#e8702a", "script-step": "#2e9e6a"}
_STATUS = {
    "NotStarted": "#9aa3ae",
    "Queued": "#8e7cc3",
    "Running": "#2f7ce8",
    "Completed": "#2ea86b",
    "Reused": "#5fb3a1",
    "Failed": "#d64545",
    "Canceled": "#9aa3ae",
    "Skipped": "#b5bcc6",
    "Interrupted": "#e0a019",
}

LIGHT = CanvasColors(
    name="light",
    background="#f6f7f9",
    grid_minor="#eceef2",
    grid_major="#dfe3e9",
    node_fill="#ffffff",
    node_header="#f3f5f8",
    node_border="#cdd3dc",
    node_shadow="#1f293314",
    title_text="#1f2933",
    port_text="#52606d",
    accents={**_ACCENTS, "unknown": "#8a94a3"},
    port_kinds={"tabular": "#2f9e9a", "file": "#c98a1b", "": "#9aa3ae"},
    wire="#8f99a8",
    minimap_fill="#ffffff",
    status=_STATUS,
)

DARK = CanvasColors(
    name="dark",
    background="#1d1f23",
    grid_minor="#24272c",
    grid_major="#2c3036",
    node_fill="#2a2d33",
    node_header="#30343b",
    node_border="#40454e",
    node_shadow="#00000050",
    title_text="#e8eaed",
    port_text="#aab2bd",
    accents={
        "dataset": "#5a9cf2",
        "spark-step": "#f08a48",
        "script-step": "#4cbb86",
        "unknown": "#8a94a3",
    },
    port_kinds={"tabular": "#46c1bc", "file": "#e2a73c", "": "#7d8692"},
    wire="#7b8594",
    wire_selected="#6aa8ff",
    selection="#6aa8ff",
    compatible="#4cc785",
    refused="#ef6b6b",
    error="#ef6b6b",
    warning="#f0b43c",
    rubber_band="#6aa8ff",
    minimap_fill="#2a2d33",
    minimap_view="#6aa8ff",
    status=_STATUS,
)

THEMES = {"light": LIGHT, "dark": DARK}

_current = LIGHT
_generation = 0
_listeners: list[Callable[[], None]] = []


def colors() -> CanvasColors:
    return _current


def generation() -> int:
    """Bumped on every theme switch; items compare it to know their cached pens are stale."""
    return _generation


def set_canvas_theme(name: str) -> None:
    """Switch the canvas palette ("light" or "dark") and repaint every open canvas."""
    global _current, _generation
    if name not in THEMES:
        raise ValueError(f"unknown canvas theme {name!r}; choose one of {', '.join(THEMES)}")
    _current = THEMES[name]
    _generation += 1
    for listener in list(_listeners):
        try:
            listener()
        except RuntimeError:  # its Qt object is gone (a closed window): stop calling it
            if listener in _listeners:
                _listeners.remove(listener)


def on_theme_changed(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after each switch; returns a function that stops the calls."""
    _listeners.append(callback)
    return lambda: _listeners.remove(callback) if callback in _listeners else None
