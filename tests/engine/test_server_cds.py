"""Class archives (AppCDS) do not pile up: one goes with its Spark, or after going unused."""

from __future__ import annotations

import json
import os
import time

from engine.backends.server_cds import UNUSED_DAYS, prune_archives


def archive(folder, key, spark_home=None, age_days=0.0):
    path = folder / f"{key}.jsa"
    path.write_bytes(b"archive")
    if spark_home is not None:
        (folder / f"{key}.json").write_text(json.dumps({"spark_home": str(spark_home)}))
    then = time.time() - age_days * 86400
    os.utime(path, (then, then))
    return path


def test_archives_of_a_spark_that_is_gone_or_unused_for_long_are_deleted(tmp_path):
    folder = tmp_path / "cds"
    folder.mkdir()
    live_spark = tmp_path / "venv" / "pyspark"
    (live_spark / "jars").mkdir(parents=True)
    kept = archive(folder, "live", live_spark)
    recent_unknown = archive(folder, "legacy-recent", age_days=1)
    gone_spark = archive(folder, "deleted-venv", tmp_path / "gone" / "pyspark")
    old_unknown = archive(folder, "legacy-old", age_days=UNUSED_DAYS + 1)
    old_live = archive(folder, "old-live", live_spark, age_days=UNUSED_DAYS + 1)
    current = archive(folder, "current", tmp_path / "gone-too", age_days=UNUSED_DAYS + 5)

    gone = prune_archives(folder, keep="current")

    assert sorted(p.name for p in gone) == sorted(
        p.name for p in (gone_spark, old_unknown, old_live)
    )
    assert kept.exists() and recent_unknown.exists() and current.exists()
    assert not (folder / "deleted-venv.json").exists()
    assert not (folder / "old-live.json").exists()
    assert (folder / "live.json").exists()
