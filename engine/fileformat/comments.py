"""Keeping a person's comments when a key of a hand-edited file is deleted or replaced.

ruamel.yaml stores the comment lines that follow an item with the *last line* of that item:
in `a: 1  # x` + `# about b` + `b: 2`, both comments belong to `a` (its end-of-line comment,
then the full lines up to `b`). When the value is a block map or list, they belong to its
deepest last item. Deleting or replacing `a` would take the lines about `b` with it, so they
are detached first and attached again where they still sit just above `b`.
"""

from __future__ import annotations

from typing import Any


def delete_key(m: Any, key: Any) -> None:
    """`del m[key]`, keeping the full comment lines that followed its item."""
    lines = _take_trailing(m, key)
    keys = list(m)
    position = keys.index(key)
    del m[key]
    if not lines:
        return
    if position > 0:
        _give_trailing(m, keys[position - 1], lines)
    elif len(keys) > 1:  # it was the first key: the lines go above the new first one
        _comment_before(m, keys[1], lines)


def replace_value(m: Any, key: Any, value: Any) -> None:
    """`m[key] = value`, keeping the full comment lines that followed the old item below the
    new one (not inside the new value's first line when it becomes a block)."""
    lines = _take_trailing(m, key)
    m[key] = value
    if lines:
        _give_trailing(m, key, lines)


def _last_item(container: Any, key: Any) -> tuple[Any, Any]:
    """The container and key of the last line of an item: its deepest last block item."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    value = container[key]
    while (
        isinstance(value, CommentedMap | CommentedSeq)
        and len(value) > 0
        and not value.fa.flow_style()
    ):
        container, key = (
            value,
            (list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1),
        )
        value = container[key]
    return container, key


def _slot(container: Any) -> int:
    """Where ruamel keeps the comment after an item: [2] for a map's, [0] for a list's."""
    from ruamel.yaml.comments import CommentedMap

    return 2 if isinstance(container, CommentedMap) else 0


def _take_trailing(m: Any, key: Any) -> str:
    """Detach the full comment lines after item `key` (its end-of-line comment stays)."""
    container, last = _last_item(m, key)
    entry = container.ca.items.get(last)
    slot = _slot(container)
    token = entry[slot] if entry else None
    if token is None or not isinstance(getattr(token, "value", None), str):
        return ""
    end_of_line, newline, lines = token.value.partition("\n")
    if "#" not in lines:
        return ""  # blank lines only: the new text is spaced by the emitter
    if end_of_line.strip():
        token.value = end_of_line + newline
    else:
        entry[slot] = None
    return lines


def _give_trailing(m: Any, key: Any, lines: str) -> None:
    """Attach full comment lines after the last line of item `key`."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    container, last = _last_item(m, key)
    slot = _slot(container)
    entry = container.ca.items.setdefault(last, [None, None, None, None])
    token = entry[slot]
    if token is None:
        entry[slot] = CommentToken("\n" + lines, CommentMark(0), None)
    else:
        token.value = (
            token.value + lines if token.value.endswith("\n") else token.value + "\n" + lines
        )


def _comment_before(m: Any, key: Any, lines: str) -> None:
    """Full comment lines above `key` (the first key of `m`)."""
    texts = [line.strip() for line in lines.splitlines() if line.strip()]
    column = min(
        (len(line) - len(line.lstrip()) for line in lines.splitlines() if line.strip()), default=0
    )
    body = "\n".join(t[1:].removeprefix(" ") if t.startswith("#") else t for t in texts)
    m.yaml_set_comment_before_after_key(key, before=body, indent=column)
