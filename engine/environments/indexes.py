"""Where packages come from: the user's pip configuration, handed to uv (which reads its own
settings, not pip's).

pip itself reads pip.conf and PIP_* as always. For uv, the index settings of pip's
configuration (pip.conf files and PIP_* variables) become command-line options, unless the user
configured uv's indexes through its own variables (UV_INDEX_URL, UV_DEFAULT_INDEX, UV_INDEX,
UV_EXTRA_INDEX_URL, UV_FIND_LINKS, UV_NO_INDEX, UV_OFFLINE): then uv is left to its settings.
"""

from __future__ import annotations

import os
import subprocess
import sys

UV_INDEX_VARS = (
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_OFFLINE",
)
_MULTI = {"extra-index-url", "find-links", "constraint", "trusted-host"}
_TRUE = {"1", "true", "yes", "on"}


def pip_settings(env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """pip's effective settings ({option: values}) from its config files and PIP_* variables."""
    env = dict(os.environ if env is None else env)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    settings: dict[str, list[str]] = {}
    # files first, then variables (`:env:`): pip's order of precedence, the last one wins
    lines = sorted(out.stdout.splitlines(), key=lambda line: line.startswith(":env:"))
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep:
            continue
        section, _, option = key.rpartition(".")
        if section not in ("global", "install", ":env:"):
            continue
        value = value.strip().strip("'\"")
        settings[option] = value.split() if option in _MULTI else [value]
    return settings


def uv_options(env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Options and extra variables that make `uv pip install` use pip's package sources."""
    env = dict(os.environ if env is None else env)
    if any(env.get(name) for name in UV_INDEX_VARS):
        return [], {}
    settings = pip_settings(env)
    options: list[str] = []
    extra_env: dict[str, str] = {}
    if settings.get("no-index", ["0"])[-1].lower() in _TRUE:
        options.append("--no-index")
    elif settings.get("index-url"):
        options += ["--index-url", settings["index-url"][-1]]
    if "--no-index" not in options:
        for url in settings.get("extra-index-url", []):
            options += ["--extra-index-url", url]
    for place in settings.get("find-links", []):
        if "://" in place or os.path.exists(place):  # uv refuses a folder that is not there
            options += ["--find-links", place]
    for path in settings.get("constraint", []):
        if os.path.exists(path):
            options += ["--constraint", path]
    for host in settings.get("trusted-host", []):
        options += ["--allow-insecure-host", host]
    if settings.get("cert") and not env.get("SSL_CERT_FILE"):
        extra_env["SSL_CERT_FILE"] = settings["cert"][-1]
    return options, extra_env
