"""Writing pipeline files: atomically, and keeping what a person wrote by hand.

A file that is in canonical form is simply replaced by the new canonical text. A file with hand
edits (comments, its own key order) is loaded with ruamel.yaml's round-trip mode and only the
differences between the old and the new model are applied to it, so everything else survives.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from typing import Any

from engine.fileformat.comments import delete_key, replace_value
from engine.fileformat.emit import WIDTH, flow, format_float, plain_ok
from engine.problems import PipelineError


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Replace `path` with `text` (UTF-8): temp file in the same folder, fsync, rename, fsync
    the folder. On failure the old file is intact and no temp file is left behind."""
    name = os.fspath(path)
    real = os.path.realpath(name)  # write through a symlink, not over it
    folder = os.path.dirname(real) or "."
    data = text.encode("utf-8")
    try:
        mode = os.stat(real).st_mode & 0o7777
    except OSError:
        mode = 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PipelineError(f"cannot save here: {exc.strerror or exc}", name) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise PipelineError(
                f"cannot save: {exc.strerror or exc} (the file was not changed)", name
            ) from None
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself is done
    finally:
        os.close(dir_fd)


# -- keeping hand edits -----------------------------------------------------------------------


_NESTED_KEY = re.compile(
    r"^([^\s#][^\n]*):[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*( +)[^\s#-]", re.M
)
_BLOCK_ITEM = re.compile(
    r"^( *)[^\s#][^\n]*:[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- ", re.M
)


def indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation the person used, for ruamel to write the same."""
    m = _NESTED_KEY.search(text)
    mapping = len(m.group(2)) if m and 1 < len(m.group(2)) <= 8 else 2
    s = _BLOCK_ITEM.search(text)
    offset = max(0, len(s.group(2)) - len(s.group(1))) if s else 2
    return mapping, offset + 2, offset


def _round_trip_yaml(text: str):
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    class Representer(RoundTripRepresenter):
        pass

    # floats as our reader reads them (1.0e+20, not ruamel's 1e+20)
    Representer.add_representer(
        float,
        lambda r, v: r.represent_scalar("tag:yaml.org,2002:float", format_float(v)),
    )
    yaml = YAML(typ="rt")
    yaml.Representer = Representer
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    mapping, sequence, offset = indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def same(a: Any, b: Any) -> bool:
    """Equal including types (1 is not 1.0 is not True) and key order."""
    if a.__class__ is not b.__class__:
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


NODE_STYLE = {"inputs": True, "outputs": True}
DOCUMENT_STYLE = {
    "computes": True,
    "environments": True,
    "parameters": True,
    "nodes": {"*": NODE_STYLE},
    "export": True,
}


def _child_style(style: Any, key: Any) -> Any:
    """Style of a child: False = flow when it fits, True = block, dict = block with children
    styled by key (or "*")."""
    if isinstance(style, dict):
        return style.get(key, style.get("*", False))
    return False


def _to_round_trip(value: Any, style: Any = False) -> Any:
    """A ruamel value for new data: text quoted where our reader needs it, collections styled."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str):
        return value if value and plain_ok(value, False) else DoubleQuotedScalarString(value)
    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[_to_round_trip(k)] = _to_round_trip(v, _child_style(style, k))
        text = None if style else flow(value, {})
        if text is not None and len(text) <= WIDTH - 20:
            m.fa.set_flow_style()
        else:
            m.fa.set_block_style()
        return m
    if isinstance(value, list):
        s = CommentedSeq(_to_round_trip(v) for v in value)
        text = flow(value, {})
        if text is not None and len(text) <= WIDTH - 20:
            s.fa.set_flow_style()
        else:
            s.fa.set_block_style()
        return s
    return value


def _patch(rt: Any, old: dict, new: dict, style: Any) -> None:
    """Apply to the round-trip mapping `rt` the differences from `old` to `new`."""
    from ruamel.yaml.comments import CommentedMap

    renamed = _renames(old, new)
    for before, after in renamed.items():
        if before in rt and after not in rt:
            _rename_in_place(rt, before, after)
    old = {renamed.get(k, k): v for k, v in old.items()}
    for k in old:
        if k not in new and k in rt:
            delete_key(rt, k)
    previous = None
    for k, value in new.items():
        child = _child_style(style, k)
        if k in rt:
            if k in old and same(old[k], value):
                pass
            elif (
                isinstance(value, dict)
                and isinstance(old.get(k), dict)
                and isinstance(rt[k], CommentedMap)
            ):
                _patch(rt[k], old[k], value, child)
            else:
                replace_value(rt, k, _to_round_trip(value, child))
        else:
            at = list(rt).index(previous) + 1 if previous in rt else 0
            rt.insert(at, k, _to_round_trip(value, child))
        previous = k


def _renames(old: dict, new: dict) -> dict:
    """Keys that were renamed: gone from `old` and new in `new` at the same position with the
    same kind of value (a renamed node keeps its comments and the person's key order)."""
    old_keys, new_keys = list(old), list(new)
    found = {}
    for i, k in enumerate(new_keys):
        if k in old or i >= len(old_keys):
            continue
        before = old_keys[i]
        if before not in new and isinstance(old[before], dict) and isinstance(new[k], dict):
            if old[before].get("type") == new[k].get("type"):
                found[before] = k
    return found


def _rename_in_place(rt: Any, before: str, after: str) -> None:
    position = list(rt).index(before)
    comment = rt.ca.items.pop(before, None)
    value = rt.pop(before)
    rt.insert(position, after, value)
    if comment is not None:
        rt.ca.items[after] = comment


def patch_text(existing: str, old: dict, new: dict) -> str:
    """`existing` (the text `old` was read from) changed to hold `new`, comments kept."""
    yaml = _round_trip_yaml(existing)
    doc = yaml.load(existing)
    _patch(doc, old, new, DOCUMENT_STYLE)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()
