"""What a completed (or reused) step's outputs become: published at their `destination` and
registered as a new version of their `register_as` dataset, each reported as OutputReady.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.events import OutputReady
from engine.planning.plan import Plan, StepPlan
from engine.storage.store import RunStore


def deliver_outputs(
    plan: Plan,
    store: RunStore,
    run_id: str,
    step: StepPlan,
    outputs: dict[str, str],
    note: Callable[[str], None],
    reused: bool,
) -> list[OutputReady]:
    """Publish and register `outputs` (output name -> final path) of `step`.

    A reused output is published again only when the destination holds something else, and
    registered only when the dataset's latest version is not already this output.
    """
    ready = []
    for out in step.outputs:
        path = Path(outputs[out.name])
        if out.destination and not (
            reused and plan.datastore.published_from(out.destination) == path
        ):
            published = plan.datastore.publish(path, out.destination)
            note(f"published {out.name} at {published}")
        version = None
        if out.register_as:
            latest = store.dataset(out.register_as)
            if reused and latest is not None and latest.path == str(path):
                version = latest.version
            else:
                version = store.register_dataset(
                    out.register_as, str(path), run_id, step.name, out.name
                )
                note(f"registered {out.name} as dataset {out.register_as} version {version}")
        ready.append(OutputReady(step.name, out.name, str(path), out.register_as, version))
    return ready
