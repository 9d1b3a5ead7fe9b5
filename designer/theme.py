"""Light and dark themes (palette + QSS from resources/themes) and theme-coloured SVG icons.

The theme follows the system colour scheme unless the user picks one in the View menu; the
choice is kept in QSettings under ``appearance/theme``.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import weakref
from pathlib import Path

import pipeloom_resources
from PySide6.QtCore import QObject, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

RESOURCES = Path(pipeloom_resources.__file__).resolve().parent
ICONS_DIR = RESOURCES / "icons"
THEMES_DIR = RESOURCES / "themes"
CHOICES = ("system", "light", "dark")
SETTINGS_KEY = "appearance/theme"

# role -> (light, dark); the QSS files use the same colours
_PALETTE = {
    QPalette.ColorRole.Window: ("#f3f4f6", "#1c1e22"),
    QPalette.ColorRole.WindowText: ("#1f2328", "#e4e6ea"),
    QPalette.ColorRole.Base: ("#ffffff", "#17191c"),
    QPalette.ColorRole.AlternateBase: ("#f5f6f8", "#272a30"),
    QPalette.ColorRole.Text: ("#1f2328", "#e4e6ea"),
    QPalette.ColorRole.Button: ("#ffffff", "#2a2d33"),
    QPalette.ColorRole.ButtonText: ("#1f2328", "#e4e6ea"),
    QPalette.ColorRole.Highlight: ("#3b6ef5", "#5b8cff"),
    QPalette.ColorRole.HighlightedText: ("#ffffff", "#ffffff"),
    QPalette.ColorRole.ToolTipBase: ("#1f2328", "#e4e6ea"),
    QPalette.ColorRole.ToolTipText: ("#f3f4f6", "#1c1e22"),
    QPalette.ColorRole.PlaceholderText: ("#9aa0a8", "#6d737d"),
    QPalette.ColorRole.Link: ("#3b6ef5", "#7aa2ff"),
    QPalette.ColorRole.Mid: ("#d0d5dc", "#3a3f47"),
    QPalette.ColorRole.Dark: ("#b9bfc7", "#101114"),
    QPalette.ColorRole.Light: ("#ffffff", "#30343b"),
}
_DISABLED_TEXT = ("#a8adb5", "#5c626c")
# colour that replaces `currentColor` in monochrome icons
ICON_COLOR = {"light": "#3d4450", "dark": "#c9cdd4"}
ICON_DISABLED_COLOR = {"light": "#b4b9c1", "dark": "#50565f"}


def system_theme() -> str:
    """``dark`` when the platform says so (Qt 6.5+), else ``light``."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() == Qt.ColorScheme.Dark:
        return "dark"
    return "light"


def resolve(choice: str) -> str:
    return system_theme() if choice == "system" else ("dark" if choice == "dark" else "light")


def palette_for(name: str) -> QPalette:
    i = 1 if name == "dark" else 0
    pal = QPalette()
    for role, colours in _PALETTE.items():
        pal.setColor(role, QColor(colours[i]))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DISABLED_TEXT[i]))
    return pal


_ICON_URL_RE = re.compile(r"url\(icon:([a-z0-9-]+)\)")


def stylesheet_for(name: str) -> str:
    """The theme's QSS; ``url(icon:NAME)`` becomes the themed SVG of that icon."""
    text = (THEMES_DIR / f"{name}.qss").read_text(encoding="utf-8")
    return _ICON_URL_RE.sub(lambda m: f"url({_cache.path(m.group(1), name).as_posix()})", text)


class _IconCache:
    """Monochrome SVGs recoloured per theme, written once to a private temp folder so QIcon's
    own SVG engine renders them (crisp at any device pixel ratio)."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._icons: dict[tuple[str, str], QIcon] = {}

    def path(self, name: str, theme: str, disabled: bool = False) -> Path:
        """The SVG file of `name` in `theme`'s colour (or its disabled colour)."""
        src = ICONS_DIR / f"{name}.svg"
        text = src.read_text(encoding="utf-8")
        if "currentColor" not in text:
            return src
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="pipeloom-icons-"))
            atexit.register(shutil.rmtree, self._dir, True)
        out = self._dir / f"{theme}-{name}{'-disabled' if disabled else ''}.svg"
        if not out.exists():
            colour = (ICON_DISABLED_COLOR if disabled else ICON_COLOR)[theme]
            out.write_text(text.replace("currentColor", colour), encoding="utf-8")
        return out

    def icon(self, name: str, theme: str) -> QIcon:
        key = (name, theme)
        if key not in self._icons:
            normal = self.path(name, theme)
            icon = QIcon(str(normal))
            disabled = self.path(name, theme, disabled=True)
            if disabled != normal:  # the style's generated grey is too bright on dark
                icon.addFile(str(disabled), QSize(), QIcon.Mode.Disabled)
            self._icons[key] = icon
        return self._icons[key]


_cache = _IconCache()


class ThemeManager(QObject):
    """Applies the chosen theme to the application and tells observers (icons, canvas)."""

    themeChanged = Signal(str)  # resolved name: light | dark

    _instance: ThemeManager | None = None

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.app = app
        self.choice = "system"
        self.name = "light"
        self._bound: list[tuple[weakref.ref, str]] = []
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._on_system_scheme)
        app.setStyle(QStyleFactory.create("Fusion"))

    @classmethod
    def instance(cls) -> ThemeManager:
        if cls._instance is None or cls._instance.app is not QApplication.instance():
            cls._instance = cls(QApplication.instance())
            cls._instance.apply(QSettings().value(SETTINGS_KEY, "system"), store=False)
        return cls._instance

    def apply(self, choice: str, store: bool = True) -> str:
        self.choice = choice if choice in CHOICES else "system"
        if store:
            QSettings().setValue(SETTINGS_KEY, self.choice)
        self._apply_resolved(resolve(self.choice))
        return self.name

    def _on_system_scheme(self, *_args) -> None:
        if self.choice == "system":
            self._apply_resolved(resolve("system"))

    def _apply_resolved(self, name: str) -> None:
        self.name = name
        self.app.setPalette(palette_for(name))
        self.app.setStyleSheet(stylesheet_for(name))
        try:
            from designer.canvas.style import set_canvas_theme
        except ImportError:  # the canvas package is optional for panels used on their own
            pass
        else:
            set_canvas_theme(name)
        self._rebind_icons()
        self.themeChanged.emit(name)

    def bind_icon(self, target, name: str) -> None:
        """Give `target` (QAction, button) the icon `name` now and again after a theme change."""
        target.setIcon(self.icon(name))
        self._bound.append((weakref.ref(target), name))

    def _rebind_icons(self) -> None:
        alive = []
        for ref, name in self._bound:
            target = ref()
            if target is None:
                continue
            try:
                target.setIcon(self.icon(name))
            except RuntimeError:  # the C++ object is gone
                continue
            alive.append((ref, name))
        self._bound = alive

    def icon(self, name: str) -> QIcon:
        return _cache.icon(name, self.name)


def icon(name: str) -> QIcon:
    """The icon `name` (resources/icons/NAME.svg) in the current theme's colour."""
    app = QApplication.instance()
    theme = ThemeManager.instance().name if app is not None else "light"
    return _cache.icon(name, theme)


def bind_icon(target, name: str) -> None:
    ThemeManager.instance().bind_icon(target, name)
