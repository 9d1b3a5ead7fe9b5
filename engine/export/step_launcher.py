"""Run a Pipeloom step script where Pipeloom is not running it (an Azure ML job), with the
step context that Pipeloom's step helper reads. Copied into an export as
pipeloom_step/launch.py, beside a copy of the helper (pipeloom_step/engine/).

    python pipeloom_step/launch.py --spec pipeloom_step/STEP.json \
        [--input NAME=PATH ...] [--output NAME=PATH ...] [--param NAME=VALUE ...] \
        -- SCRIPT [ARGS ...]

The spec holds what does not change between runs (kinds, formats, modes); the paths are
the ones the scheduler passes. Standard library only.
"""

import json
import os
import runpy
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _pairs(items):
    return dict(item.split("=", 1) for item in items)


def main(argv):
    split = argv.index("--")
    options, (script, *args) = argv[:split], argv[split + 1 :]
    spec_path, named = None, {"--input": [], "--output": [], "--param": []}
    it = iter(options)
    for option in it:
        if option == "--spec":
            spec_path = next(it)
        else:
            named[option].append(next(it))
    base = os.path.dirname(HERE)  # the step's code folder
    with open(os.path.join(base, spec_path), encoding="utf-8") as file:
        spec = json.load(file)
    paths, outputs, params = (
        _pairs(named["--input"]),
        _pairs(named["--output"]),
        _pairs(named["--param"]),
    )
    context = {"run_id": os.environ.get("AZUREML_RUN_ID", ""), "step": spec["step"]}
    context["inputs"] = {
        n: {**info, "path": paths[n]} for n, info in spec["inputs"].items() if n in paths
    }
    context["outputs"] = {n: {**info, "path": outputs[n]} for n, info in spec["outputs"].items()}
    context["parameters"] = {
        n: json.loads(v) if spec["parameter_types"][n] != "string" else v for n, v in params.items()
    }
    handle, context_path = tempfile.mkstemp(prefix="pipeloom-context-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(context, file, indent=2)
    os.environ["PIPELOOM_STEP_CONTEXT"] = context_path
    sys.path.insert(0, HERE)  # `from engine.step import context` finds the helper copy
    script_path = os.path.join(base, script)
    sys.path.insert(0, os.path.dirname(script_path))
    sys.argv = [script_path, *args]
    runpy.run_path(script_path, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
