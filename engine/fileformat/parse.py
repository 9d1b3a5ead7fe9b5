"""Safe reading of pipeline YAML: bytes -> text -> a tree of plain values with positions.

The C parser's events are consumed one by one and turned into values here, so that anchors,
aliases, tags, excessive depth or size and duplicate keys are rejected before anything is
built, and scalars are typed strictly: the YAML 1.1 readings that surprise people (`on` as
true, `012` as 10) are errors instead of silent conversions. Nothing is ever constructed
from a tag, so loading never runs code.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from engine.problems import PipelineError, Problem

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # libyaml missing: the pure-Python parser emits the same events
    _Loader = yaml.SafeLoader

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 1_000_000

_STD = "tag:yaml.org,2002:"
_MAP_TAGS = (None, "!", _STD + "map")
_SEQ_TAGS = (None, "!", _STD + "seq")
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_YAML11_BOOLS = frozenset(
    ("yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF")
)
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(
    r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?\Z|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"
)
# PyYAML's YAML 1.1 number forms; those the strict forms above do not cover are ambiguous
_YAML11_INT = re.compile(
    r"[-+]?0b[0-1_]+\Z|[-+]?0[0-7_]+\Z|[-+]?(?:0|[1-9][0-9_]*)\Z|[-+]?0x[0-9a-fA-F_]+\Z"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+\Z"
)
_YAML11_FLOAT = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?\Z|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?\Z"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*\Z"
)
# a plain scalar starting with none of these is text, whatever follows
_MAYBE_TYPED = frozenset("-+0123456789.~nNtTfFyYoO<")
_NUMBER_START = frozenset("-+0123456789.")
_SPECIAL = frozenset((".i", ".I", ".n", ".N"))  # .inf / .nan: float() reads them without the dot
# plain scalars that are not text; any other starting with none of _NUMBER_START is text
_WORDS = _NULLS | _TRUE | _FALSE | _YAML11_BOOLS | {"<<"}
_LEADING_ZERO = re.compile(r"0[0-9]+\Z")  # 09: text in YAML 1.1, the number 9 in YAML 1.2


class YMap(dict):
    """A mapping read from YAML; `at[key]` = (key line, key column, value line, value column)."""

    __slots__ = ("line", "column", "at")


class YSeq(list):
    """A sequence read from YAML; `at[i]` = (line, column) of item i."""

    __slots__ = ("line", "column", "at")


class AmbiguousScalar(ValueError):
    """A plain scalar that YAML 1.1 reads differently from what a person likely meant."""

    def __init__(self, message: str, text: str, reading: str):
        super().__init__(message)
        self.text = text
        self.reading = reading  # boolean | number | merge

    def as_key(self) -> str:
        if self.reading not in ("boolean", "number"):
            return str(self)
        return f"the key {self.text} is read as a {self.reading} by YAML 1.1: quote it"


def resolve_plain(text: str) -> Any:
    """The value of an unquoted scalar (strict core types); raises AmbiguousScalar."""
    if not text:
        return None
    first = text[0]
    if first not in _MAYBE_TYPED:
        return text
    if first not in _NUMBER_START:
        if text in _NULLS:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if text in _YAML11_BOOLS:
            raise AmbiguousScalar(
                f"{text} is a YAML 1.1 boolean: write true or false, or quote it for text",
                text,
                "boolean",
            )
        if text == "<<":
            raise AmbiguousScalar(
                "merge keys (<<) are not supported: write the keys out", text, "merge"
            )
        return text
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text.replace(".", "", 1)) if text.lstrip("+-")[:2] in _SPECIAL else float(text)
    digits = text.lstrip("+-")
    if _YAML11_INT.match(text) or _YAML11_FLOAT.match(text) or _LEADING_ZERO.match(digits):
        hint = ""
        if len(digits) > 1 and digits[0] == "0" and set(digits[1:]) <= set("01234567"):
            hint = f" (YAML 1.1 reads it as the octal number {int(text, 8)})"
        raise AmbiguousScalar(
            f"{text} is an ambiguous number{hint}: write it as a plain decimal, "
            "or quote it for text",
            text,
            "number",
        )
    return text


def _scalar_value(ev: yaml.ScalarEvent) -> Any:
    tag = ev.tag
    if ev.style:  # quoted or block scalar: text, unless explicitly tagged
        if tag is None or tag == "!" or tag == _STD + "str":
            return ev.value
        value = resolve_plain(ev.value)
    elif tag is None or tag == "!":
        return resolve_plain(ev.value)
    elif tag == _STD + "str":
        return ev.value
    else:
        value = resolve_plain(ev.value)
    expected = {
        _STD + "int": int,
        _STD + "float": (float, int),
        _STD + "bool": bool,
        _STD + "null": type(None),
    }[tag]
    if not isinstance(value, expected) or (tag != _STD + "bool" and isinstance(value, bool)):
        raise AmbiguousScalar(f"{ev.value!r} is not a valid !!{tag[len(_STD) :]}", ev.value, "tag")
    return float(value) if tag == _STD + "float" else value


def where(path: list) -> tuple[str | None, str | None]:
    """(node, field) of a path in a pipeline file: nodes.X.a.b -> ("X", "a.b")."""
    parts = [str(p) for p in path]
    if len(parts) >= 2 and parts[0] == "nodes":
        return parts[1], ".".join(parts[2:]) or None
    return None, ".".join(parts) or None


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def _entry_at(key_mark, value_mark) -> tuple[int, int, int, int]:
    """A mapping entry's `at`: its key's and its value's line and column, 1-based."""
    return key_mark.line + 1, key_mark.column + 1, value_mark.line + 1, value_mark.column + 1


class _Frame:
    __slots__ = ("container", "is_map", "key", "key_at")

    def __init__(self, container, is_map):
        self.container = container
        self.is_map = is_map
        self.key = _EXPECT_KEY
        self.key_at = None


_EXPECT_KEY = object()
_DROP = object()  # the key was rejected; its value is read and dropped
_KEY_COLLECTION = object()  # a mapping or list used as a key (rejected)


def parse_tree(text: str, path: str | None = None) -> Any:
    """The single YAML document in `text` as YMap/YSeq/scalars; raises PipelineError listing
    every problem found (each with line and column)."""
    problems: list[Problem] = []
    stack: list[_Frame] = []
    root: list[Any] = []

    def fail(message: str, mark, at_path: list | None = None) -> None:
        node, field = where(at_path if at_path is not None else _path(stack))
        problems.append(Problem(node, field, "error", message, mark.line + 1, mark.column + 1))

    def add(value: Any, mark) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        if not top.is_map:
            top.container.append(value)
            top.container.at.append((mark.line + 1, mark.column + 1))
            return
        if top.key is not _EXPECT_KEY:
            if top.key is not _DROP:
                top.container[top.key] = value
                top.container.at[top.key] = _entry_at(top.key_at, mark)
            if value.__class__ is not YMap and value.__class__ is not YSeq:
                top.key = _EXPECT_KEY  # a collection value keeps its key until it ends
            return
        top.key_at = mark
        if value is _DROP:
            top.key = _DROP
        elif value.__class__ is YMap or value.__class__ is YSeq:
            top.key = _KEY_COLLECTION  # reported at its start; its value is dropped
        elif value.__class__ is not str:
            fail(f"a key must be text, not {_describe(value)}: quote it", mark)
            top.key = _DROP
        elif value in top.container:
            first = top.container.at[value]
            fail(
                f"duplicate key {value!r} (first at line {first[0]})", mark, _path(stack) + [value]
            )
            top.key = _DROP
        else:
            top.key = value

    def key_position() -> bool:
        return bool(stack) and stack[-1].is_map and stack[-1].key is _EXPECT_KEY

    def end() -> None:
        stack.pop()
        if stack and stack[-1].is_map:
            top = stack[-1]
            top.key = _DROP if top.key is _KEY_COLLECTION else _EXPECT_KEY

    loader = _Loader(text)
    get_event = loader.get_event
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    expect_key, ymap, yseq = _EXPECT_KEY, YMap, YSeq
    words, number_start = _WORDS, _NUMBER_START
    top: _Frame | None = None  # stack[-1], kept at hand: most events touch only it
    count = 0
    documents = 0
    try:
        for ev in iter(get_event, None):
            cls = ev.__class__
            if cls is scalar_event:
                count += 1
                if count > MAX_VALUES:
                    fail(f"more than {MAX_VALUES} values: file too large", ev.start_mark, [])
                    break
                value = ev.value
                if (
                    ev.tag is None
                    and ev.anchor is None
                    and top is not None
                    and top.is_map
                    and (ev.style or (value not in words and value[0] not in number_start))
                ):
                    # the common case: text in a mapping (quoted, or plain and not a number,
                    # boolean or null), as a key or as its value
                    mark = ev.start_mark
                    key = top.key
                    if key is expect_key:
                        if value not in top.container:
                            top.key = value
                            top.key_at = mark
                            continue
                    elif key is not _DROP:
                        top.container[key] = value
                        top.container.at[key] = _entry_at(top.key_at, mark)
                        top.key = expect_key
                        continue
                    add(value, mark)  # a duplicate key or a dropped value: the general path
                    continue
                if ev.anchor is not None:
                    fail(
                        f"anchors (&{ev.anchor}) are not allowed: write the value out",
                        ev.start_mark,
                    )
                tag = ev.tag
                if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
                    fail(
                        f"the tag {_tag_name(tag)} is not allowed: files hold plain data only",
                        ev.start_mark,
                    )
                    add(_DROP if key_position() else None, ev.start_mark)
                    continue
                try:
                    value = _scalar_value(ev)
                except AmbiguousScalar as exc:
                    if key_position():
                        fail(exc.as_key(), ev.start_mark)
                        value = _DROP
                    else:
                        fail(str(exc), ev.start_mark)
                        value = None
                add(value, ev.start_mark)
            elif cls is map_start or cls is seq_start:
                count += 1
                is_map = cls is map_start
                mark = ev.start_mark
                if len(stack) >= MAX_DEPTH:
                    fail(f"nesting is deeper than {MAX_DEPTH} levels", mark, _path(stack)[:3])
                    break
                if count > MAX_VALUES:
                    fail(f"more than {MAX_VALUES} values: file too large", mark, [])
                    break
                if is_map:
                    container = ymap()
                    container.at = {}
                else:
                    container = yseq()
                    container.at = []
                container.line, container.column = mark.line + 1, mark.column + 1
                if ev.anchor is None and ev.tag is None and top is not None and top.is_map:
                    key = top.key  # the common case: a mapping's value; it keeps its key
                    if key.__class__ is str:
                        top.container[key] = container
                        top.container.at[key] = _entry_at(top.key_at, mark)
                        top = _Frame(container, is_map)
                        stack.append(top)
                        continue
                if ev.anchor is not None:
                    fail(f"anchors (&{ev.anchor}) are not allowed: write the value out", mark)
                if ev.tag is not None and ev.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    fail(
                        f"the tag {_tag_name(ev.tag)} is not allowed: files hold plain data only",
                        mark,
                    )
                if key_position():
                    fail("a key must be text, not a " + ("mapping" if is_map else "list"), mark)
                add(container, mark)
                top = _Frame(container, is_map)
                stack.append(top)
            elif cls is map_end or cls is seq_end:
                end()
                top = stack[-1] if stack else None
            elif cls is alias_event:
                count += 1
                if count > MAX_VALUES:
                    fail(f"more than {MAX_VALUES} values: file too large", ev.start_mark, [])
                    break
                fail(f"aliases (*{ev.anchor}) are not allowed: write the value out", ev.start_mark)
                add(_DROP if key_position() else None, ev.start_mark)
            elif cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    fail("only one YAML document is allowed (found ---)", ev.start_mark, [])
                    break
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context or 'malformed'}"
        if "maximum nesting depth" in message:  # libyaml's own limit, met while scanning ahead
            message = f"nesting is deeper than {MAX_DEPTH} levels"
        elif exc.context and exc.problem and exc.context_mark and exc.context_mark is not mark:
            message = f"{message} ({exc.context} at line {exc.context_mark.line + 1})"
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        node, field = where(_path(stack)[:3])
        problems.append(Problem(node, field, "error", message, line, column))
    except yaml.YAMLError as exc:
        problems.append(Problem(None, None, "error", f"invalid YAML: {exc}"))
    finally:
        loader.dispose()
    if problems:
        raise PipelineError(problems, path)
    return root[0] if root else None


def _path(stack: list[_Frame]) -> list:
    """Keys and indexes down to the value being read (for messages only)."""
    out: list = []
    for i, f in enumerate(stack):
        if f.is_map:
            if f.key.__class__ is str:
                out.append(f.key)
        else:  # an open child collection is already appended; a scalar is not yet
            out.append(len(f.container) - (1 if i < len(stack) - 1 else 0))
    return out


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return type(value).__name__


def decode(data: bytes, path: str | None = None) -> str:
    """UTF-8 text of a pipeline file; binary or undecodable data is a PipelineError."""
    if len(data) > MAX_BYTES:
        raise PipelineError(
            f"file is too large ({len(data)} bytes; pipeline files are at most {MAX_BYTES})",
            path,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start
        nul = data.find(b"\x00")
        binary = nul != -1
        if binary:
            at = min(at, nul)
        line = data.count(b"\n", 0, at) + 1
        column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        message = (
            "binary data, not a YAML text file"
            if binary
            else f"not UTF-8 text (byte 0x{data[at]:02x}): save the file as UTF-8"
        )
        raise PipelineError([Problem(None, None, "error", message, line, column)], path) from None
    return check_text(text, path)


def check_text(text: str, path: str | None = None) -> str:
    """`text` without a byte order mark; too large or binary-looking text is a PipelineError."""
    if len(text) > MAX_BYTES:
        raise PipelineError(
            f"text is too large ({len(text)} characters; pipeline files are at most {MAX_BYTES})",
            path,
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    bad = _NON_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        what = (
            "binary data, not a YAML text file"
            if bad.group() == "\x00"
            else (
                f"control character U+{ord(bad.group()):04X} is not allowed in YAML (binary data?)"
            )
        )
        raise PipelineError([Problem(None, None, "error", what, line, column)], path)
    return text


_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def read_text(path: str | os.PathLike) -> str:
    """The text of a pipeline file, size-limited; unreadable files are a PipelineError."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_BYTES:
                raise PipelineError(
                    f"file is too large ({size} bytes; pipeline files are at most {MAX_BYTES})",
                    name,
                )
            data = f.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise PipelineError("is a directory, not a pipeline file", name) from None
    except FileNotFoundError:
        raise PipelineError("no such file", name) from None
    except OSError as exc:
        raise PipelineError(f"cannot read the file: {exc.strerror or exc}", name) from None
    return decode(data, name)
