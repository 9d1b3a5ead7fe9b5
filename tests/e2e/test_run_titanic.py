"""The seed's titanic pipeline run for real (Spark data prep, then training), then re-run:
reuse, and exactly the affected steps rerun after an edit of a script or of the data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from engine.backends import BackendPool
from engine.events import Status
from engine.fileformat import yamlio
from engine.running.runner import Runner
from engine.storage.store import RunStore

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1200)]

TITANIC = Path(__file__).resolve().parents[2] / "projects" / "titanic"


def run(path: Path):
    pool = BackendPool()
    runner = Runner(yamlio.load(str(path)), backends=pool, keep_warm=True)
    summary = runner.run()
    started = sorted(b.name for b in pool.active())
    pool.close()  # releases its hold; the session fixture keeps the warm server up
    runner.store.close()
    return {s.step: s.status for s in summary.steps}, summary, started


def test_titanic_runs_then_reuses_and_reruns_exactly_what_changed(tmp_path, spark_connect_server):
    project = tmp_path / "titanic"
    shutil.copytree(TITANIC, project, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__"))
    path = project / "pipeline.yaml"

    statuses, summary, started = run(path)
    assert statuses == {"dataprep": Status.COMPLETED, "train": Status.COMPLETED}
    assert started == ["cpu", "spark"]
    datastore = project / ".pipeloom" / "datastore"
    prepared = pd.read_parquet(datastore / "runs" / summary.run_id / "dataprep" / "output_dir")
    source = pd.read_csv(project / "data" / "Titanic.csv")
    assert len(prepared) == len(source) and prepared["Age"].notna().all()
    assert len(pd.read_parquet(datastore / "test")) == len(source)  # destination: test
    store = RunStore(project / ".pipeloom")
    registered = store.dataset("registered_dataset")
    assert registered.version == 1 and registered.run_id == summary.run_id
    model = json.loads(
        (datastore / "runs" / summary.run_id / "train" / "model" / "model.json").read_text()
    )
    assert model

    # nothing changed: dataprep reused without starting Spark; train has allow_reuse: false
    statuses, second, started = run(path)
    assert statuses == {"dataprep": Status.REUSED, "train": Status.COMPLETED}
    assert started == ["cpu"]

    path.write_text(path.read_text().replace("allow_reuse: false", "allow_reuse: true"))
    statuses, _, started = run(path)
    assert statuses == {"dataprep": Status.REUSED, "train": Status.REUSED}
    assert started == []

    # the training script changes: only train reruns (dataprep.py shares its folder)
    train = project / "code" / "train.py"
    train.write_text(train.read_text() + "\n# tuned\n")
    statuses, _, _ = run(path)
    assert statuses == {"dataprep": Status.REUSED, "train": Status.COMPLETED}

    # the data changes: both rerun, and a new dataset version is registered
    csv = project / "data" / "Titanic.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:-1]))
    statuses, last, _ = run(path)
    assert statuses == {"dataprep": Status.COMPLETED, "train": Status.COMPLETED}
    prepared = pd.read_parquet(datastore / "runs" / last.run_id / "dataprep" / "output_dir")
    assert len(prepared) == len(source) - 1
    assert store.dataset("registered_dataset").version == 2
