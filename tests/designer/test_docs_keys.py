"""docs/designer.md's Keys table says what the menus bind: every key it lists is bound to that
command, and every menu command with a shortcut is in the table."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "designer.md"


def documented_keys() -> dict[str, list[str]]:
    """Command name -> its keys as the table gives them ("Del / Backspace" is two keys)."""
    section = DOC.read_text().split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \|$", section, flags=re.M)
    table: dict[str, list[str]] = {}
    for commands, keys in rows[1:]:  # below the header row
        names = [c.strip() for c in commands.split(",")]
        inside = re.search(r"\(([^)]*)\)", keys)
        if inside and "Ctrl" in inside.group(1):  # "the platform's standard keys (Ctrl+N, ...)"
            keys = inside.group(1)
        keys = re.sub(r"\s*\([^)]*\)", "", keys).strip()
        per_command = [k.strip() for k in keys.split(", ")] if keys else []
        if len(per_command) != len(names):  # "(no key: Run menu)"
            per_command = [""] * len(names)
        for name, key in zip(names, per_command, strict=True):
            table[name] = [k.strip() for k in key.split(" / ") if k.strip()]
    return table


def test_the_keys_table_matches_the_menus(window):
    bound = {
        name.rstrip("…"): keys.split(", ") for name, keys in window.window_actions.shortcut_table()
    }
    documented = documented_keys()

    def action_named(doc_name: str) -> str:
        if doc_name in bound:
            return doc_name
        matches = [a for a in bound if a.startswith(doc_name + " ")]  # "Fit" is "Fit to Window"
        assert len(matches) == 1, f"docs/designer.md names {doc_name!r}; menus have {list(bound)}"
        return matches[0]

    listed = set()
    for name, keys in documented.items():
        if not keys:
            assert name not in bound, f"{name} has a key now: {bound.get(name)}"
            continue
        action = action_named(name)
        listed.add(action)
        for key in keys:
            assert key in bound[action], (
                f"{name}: the docs say {key}, the menu binds {bound[action]}"
            )
    assert set(bound) - listed == set(), "menu commands with a key missing from docs/designer.md"
