"""Tiny wheels made inside a test (no network, no build backend): a wheel is a zip file."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(
    folder: Path, name: str, version: str, code: str, requires: tuple[str, ...] = ()
) -> Path:
    """Write `name`-`version` (module `name` with dashes as underscores, holding `code`)."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{module}/__init__.py": code,
        f"{dist}.dist-info/METADATA": metadata,
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: pipeloom-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    path = folder / f"{dist}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as z:
        for name_, text in files.items():
            data = text.encode()
            z.writestr(name_, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name_},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist}.dist-info/RECORD,,")
        z.writestr(f"{dist}.dist-info/RECORD", "\n".join(record) + "\n")
    return path
