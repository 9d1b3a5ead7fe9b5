"""Where Pipeloom keeps what it caches for the user (Spark server logs, class archives, ...)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/pipeloom (default ~/.cache/pipeloom), created private to the user."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "pipeloom"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
