"""The datastore: run outputs (committed only on success), published copies, registered data.

Layout under the pipeline's datastore folder:
    runs/<run>/<step>/<output>   completed outputs
    tmp/<run>/<step>.<output>    where a running step writes (moved into runs/ on success)
    <destination>                published copies (`destination:` of an output)
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import uuid
from pathlib import Path

from engine.problems import PipelineError

DATASET_REF_RE = re.compile(r"^dataset:([A-Za-z_][A-Za-z0-9_\-.]*)(?:@(\d+|latest))?$")


class Datastore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def output_path(self, run_id: str, step: str, output: str) -> Path:
        return self.root / "runs" / run_id / step / output

    def _temp(self, run_id: str, step: str, output: str) -> Path:
        # flat: <step>.<output> (names have no dots); per-step folders would cost a rmdir each
        return self.root / "tmp" / run_id / f"{step}.{output}"

    def temp_output_path(self, run_id: str, step: str, output: str) -> Path:
        """A path that does not exist yet, in a folder that does."""
        path = self._temp(run_id, step, output)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            _remove(path)
        return path

    def commit_outputs(self, run_id: str, step: str, outputs: list[str]) -> dict[str, Path]:
        """Move a completed step's outputs into runs/; raises when one was not written."""
        missing = [o for o in outputs if not self._temp(run_id, step, o).exists()]
        if missing:
            raise PipelineError(
                f"step {step!r} completed but did not write its output(s) {', '.join(missing)}"
            )
        final: dict[str, Path] = {}
        for output in outputs:
            dest = self.output_path(run_id, step, output)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._temp(run_id, step, output), dest)
            final[output] = dest
        return final

    def discard(self, run_id: str, step: str) -> None:
        """Remove whatever a failed or canceled step left in the run's temp folder."""
        folder = self.root / "tmp" / run_id
        for path in folder.glob(f"{glob.escape(step)}.*") if folder.exists() else []:
            _remove(path)

    def discard_run(self, run_id: str) -> None:
        """Remove the temp folder of a whole run (when it ends, or when its runner died)."""
        shutil.rmtree(self.root / "tmp" / run_id, ignore_errors=True)

    def temp_runs(self) -> list[str]:
        """Runs that have a temp folder (live ones, or dead ones not cleaned up yet)."""
        try:
            return [p.name for p in (self.root / "tmp").iterdir() if p.is_dir()]
        except OSError:
            return []

    def _destination(self, destination: str) -> Path:
        dest = (self.root / destination).resolve()
        if dest == self.root or self.root not in dest.parents:
            raise PipelineError(f"destination {destination!r} is not inside the datastore")
        return dest

    @staticmethod
    def _marker(dest: Path) -> Path:
        return dest.parent / f".{dest.name}.published-from"

    def published_from(self, destination: str) -> Path | None:
        """The output last published at `destination` (None when nothing is there)."""
        dest = self._destination(destination)
        try:
            return Path(self._marker(dest).read_text(encoding="utf-8")) if dest.exists() else None
        except OSError:
            return None

    def publish(self, source: Path, destination: str) -> Path:
        """Copy a completed output to <datastore>/<destination>, replacing it atomically."""
        dest = self._destination(destination)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            if source.is_dir():
                shutil.copytree(source, staging)
            else:
                shutil.copy2(source, staging)
        except BaseException:  # a full disk, say: no half copy stays behind
            _remove(staging)
            raise
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.old"
            os.replace(dest, old)
        os.replace(staging, dest)
        if old is not None:
            _remove(old)
        self._marker(dest).write_text(str(source), encoding="utf-8")
        return dest


def parse_dataset_ref(text: str) -> tuple[str, int | None]:
    """`dataset:NAME` or `dataset:NAME@VERSION` -> (NAME, VERSION or None for the latest)."""
    m = DATASET_REF_RE.match(text.strip())
    if not m:
        raise PipelineError(f"{text!r} is not a dataset reference (dataset:NAME or dataset:NAME@N)")
    version = m.group(2)
    return m.group(1), int(version) if version and version != "latest" else None


def copy_into(source: Path, folder: Path) -> Path:
    """A private copy of a file or folder inside `folder` (for mode: download)."""
    folder.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        dest = folder / (source.name or "data")
        shutil.copytree(source, dest)
    else:
        dest = folder / source.name
        shutil.copy2(source, dest)
    return dest


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
