"""End to end: titanic run for real from the designer (Spark data prep on the session's warm
Spark, then training), then its Spark output previewed in the window and by the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.preview import Preview
from tests.designer.test_preview_panel import column, header, loaded

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(900)]


def test_titanic_run_then_dataprep_output_previews(qtbot, opened, spark_connect_server):
    window = opened
    panel = window.preview_panel
    window.show_preview()
    runs = window.run_commands
    with qtbot.waitSignal(runs.controller.runEnded, timeout=600_000):
        window.window_actions.run.trigger()
    assert str(runs.last_summary.status) == "Completed", window.logs_panel.text()[-3000:]
    run_id = runs.last_summary.run_id

    window.scene.clearSelection()
    preview = loaded(qtbot, panel, lambda: window.scene.select_nodes(["dataprep"]))
    assert isinstance(preview, Preview), preview
    assert "PassengerId" in header(panel) and "Age" in header(panel)
    assert preview.format == "parquet" and preview.files >= 1
    assert preview.row_count == 891 and panel.model.rowCount() == 200
    assert f"run {run_id}" in panel.summary.text()
    ages = column(panel, header(panel).index("Age"))
    assert "null" not in ages  # dataprep fills the missing ages

    # the CLI shows the same output; the registered version too
    path = str(window.document.path)
    script = Path(sys.executable).with_name("pipeloom")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    for target in ("dataprep.output_dir", "dataset:registered_dataset"):
        done = subprocess.run(
            [*argv, "preview", path, target, "-n", "5", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["run"] == run_id and data["row_count"] == 891 and len(data["rows"]) == 5
        assert [c["name"] for c in data["columns"]] == header(panel)
    panel.wait_idle()
