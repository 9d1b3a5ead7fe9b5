"""The canonical YAML text of plain data (dicts, lists, scalars), written by hand for speed.

Block style for the document, its sections and each node; flow style (``{x: 0, y: 0}``) for
any smaller mapping or list that fits on its line. Text is written plain when it reads back as
the same text (in our strict reader and in any YAML 1.1 reader), else double-quoted.
"""

from __future__ import annotations

import math
import re
from typing import Any

WIDTH = 100

_PLAIN_BLOCK = re.compile(
    r"[A-Za-z0-9_./\-\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]"
    r"[A-Za-z0-9_./\-+=()<>~$%^@;:,!?&*'\"\[\]{}# \u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*\Z"
)
_PLAIN_FLOW = re.compile(
    r"[A-Za-z0-9_./\-\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]"
    r"[A-Za-z0-9_./\-+=()<>~$%^@;:!&*'\" \u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*\Z"
)
# readers differ on these inside plain text, or they start a comment / end a key
_BREAKS_PLAIN = re.compile(r": |:\Z| #|^- |^-\Z|^\.\.\.|^---|\A[-.]\Z")
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\x00": "\\0",
}
_NEEDS_ESCAPE = re.compile(
    '["\\\\]|[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]'
)
_TYPED_START = frozenset("-+0123456789.~nNtTfFyYoO<=")


def _escape(m: re.Match) -> str:
    ch = m.group()
    esc = _ESCAPES.get(ch)
    if esc:
        return esc
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def quoted(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def plain_ok(text: str, flow: bool) -> bool:
    """Whether `text` can be written unquoted and read back as the same text."""
    if not (_PLAIN_FLOW if flow else _PLAIN_BLOCK).match(text):
        return False
    if text[-1] == " " or _BREAKS_PLAIN.search(text):
        return False
    if text[0] in _TYPED_START:
        from engine.fileformat.parse import AmbiguousScalar, resolve_plain

        try:
            if resolve_plain(text) != text or not _yaml11_text(text):
                return False
        except AmbiguousScalar:
            return False
    return True


_YAML11_TYPED = re.compile(
    r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?\Z"  # numbers, loosely
    r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"  # timestamps
    r"|=\Z|\.[0-9]|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)\Z|0[xob]"
)


def _yaml11_text(text: str) -> bool:
    """False when a YAML 1.1 reader (PyYAML) would read `text` as something other than text."""
    return not _YAML11_TYPED.match(text)


def scalar(value: Any, flow: bool, cache: dict) -> str:
    if value.__class__ is str:
        key = (value, flow)
        out = cache.get(key)
        if out is None:
            out = value if value and plain_ok(value, flow) else quoted(value)
            cache[key] = out
        return out
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float(value)
    raise TypeError(f"cannot write {type(value).__name__} values to a pipeline file")


def format_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." not in text:  # 1e+20 must read back as a float: 1.0e+20
        mantissa, _, exponent = text.partition("e")
        text = f"{mantissa}.0" + (f"e{exponent}" if exponent else "")
    return text


def flow(value: Any, cache: dict, depth: int = 0) -> str | None:
    """Flow-style text of a value, or None when it is too deep for one line."""
    if isinstance(value, dict):
        if depth > 2:
            return None
        parts = []
        for k, v in value.items():
            inner = flow(v, cache, depth + 1)
            if inner is None:
                return None
            parts.append(f"{scalar(k, True, cache)}: {inner}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        if depth > 2:
            return None
        parts = []
        for v in value:
            inner = flow(v, cache, depth + 1)
            if inner is None:
                return None
            parts.append(inner)
        return "[" + ", ".join(parts) + "]"
    return scalar(value, True, cache)


def _collection(v: Any) -> type | None:
    cls = v.__class__
    if cls is dict or cls is list or cls is str:
        return None if cls is str else cls
    if isinstance(v, dict):
        return dict
    return list if isinstance(v, list) else None


def emit_mapping(lines: list[str], data: dict, indent: int, cache: dict, block: tuple = ()) -> None:
    """Block mapping; values flow-style when they fit on the line, unless their key is in `block`."""
    pad = " " * indent
    for k, v in data.items():
        key = f"{pad}{scalar(k, False, cache)}:"
        cls = _collection(v)
        if cls is not None:
            if not v:
                lines.append(f"{key} {{}}" if cls is dict else f"{key} []")
                continue
            if k not in block:
                text = flow(v, cache)
                if text is not None and len(key) + 1 + len(text) <= WIDTH:
                    lines.append(f"{key} {text}")
                    continue
            lines.append(key)
            if cls is dict:
                emit_mapping(lines, v, indent + 2, cache)
            else:
                emit_sequence(lines, v, indent + 2, cache)
        else:
            lines.append(f"{key} {scalar(v, False, cache)}")


def emit_sequence(lines: list[str], data: list, indent: int, cache: dict) -> None:
    pad = " " * indent
    for v in data:
        cls = _collection(v)
        if cls is not None:
            text = flow(v, cache)
            if text is not None and indent + 2 + len(text) <= WIDTH:
                lines.append(f"{pad}- {text}")
            elif cls is dict:
                start = len(lines)
                emit_mapping(lines, v, indent + 2, cache)
                lines[start] = f"{pad}- {lines[start][indent + 2 :]}"
            else:
                lines.append(f"{pad}-")
                emit_sequence(lines, v, indent + 2, cache)
        else:
            lines.append(f"{pad}- {scalar(v, False, cache)}")


NODE_BLOCK_KEYS = ("inputs", "outputs")


def emit_document(data: dict, node_sections: tuple = ("nodes",)) -> str:
    """The canonical text of a pipeline (or fragment) mapping: sections and nodes in block style,
    the ports of each node one per line."""
    lines: list[str] = []
    cache: dict = {}
    for k, v in data.items():
        cls = _collection(v)
        if cls is not None and v:
            lines.append(f"{scalar(k, False, cache)}:")
            if cls is list:
                emit_sequence(lines, v, 2, cache)
            elif k in node_sections:
                for name, node in v.items():
                    lines.append(f"  {scalar(name, False, cache)}:")
                    if isinstance(node, dict) and node:
                        emit_mapping(lines, node, 4, cache, NODE_BLOCK_KEYS)
                    else:
                        lines[-1] += " " + flow(node, cache)
            else:
                emit_mapping(lines, v, 2, cache)
        else:
            emit_mapping(lines, {k: v}, 0, cache)
    return "\n".join(lines) + "\n"
