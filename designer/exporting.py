"""File → Export: write the pipeline for Azure ML, Airflow or a shell script (engine.export)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.problems import PipelineError

if TYPE_CHECKING:
    from designer.window_parts import DocumentWindow

TARGET_TITLES = {
    "azureml": "Azure ML Pipeline Job",
    "airflow": "Airflow DAG",
    "shell": "Shell Script",
}


def available_targets() -> list[tuple[str, str]]:
    """(target, menu title) of every export the engine provides."""
    from engine.export import TARGETS

    return [(t, TARGET_TITLES.get(t, t)) for t in TARGETS]


def export_pipeline(window: DocumentWindow, target: str) -> Path | None:
    """Ask for a folder and export into it; returns the folder, None when nothing was written."""
    from engine import export as exports

    doc, dialogs = window.document, window.dialogs
    if doc.path is None:
        dialogs.info(
            "Export", "Save the pipeline first: exports copy its code relative to the file."
        )
        return None
    start = doc.base_dir / "export" / target
    picked = dialogs.ask_path(
        f"Export {TARGET_TITLES.get(target, target)} to folder", str(start), True
    )
    if not picked:
        return None
    out_dir = Path(picked)
    try:
        result = exports.export(doc.pipeline, target, out_dir)
    except (PipelineError, OSError, ValueError) as e:
        dialogs.error("Export failed", f"The pipeline could not be exported:\n\n{e}")
        return None
    lines = [f"Wrote {len(result.files)} file(s) to {out_dir}."]
    if result.main_file is not None:
        lines.append(f"Main file: {result.main_file.name}")
    if result.warnings:
        lines.append("")
        lines.append("Not expressible in this target:")
        lines += [f"• {w.where()}: {w.message}" for w in result.warnings]
    dialogs.info("Export finished", "\n".join(lines))
    window.show_message(f"Exported to {out_dir}")
    return out_dir
