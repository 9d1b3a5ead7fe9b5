"""The `submit` backend's command: one `spark-submit` per step, resources as its options."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from engine import java as java_finder
from engine.backends.base import LogFn, StepLaunch
from engine.backends.connect_server import server_env, spark_home, startup_java_options
from engine.backends.spark_settings import (
    EXECUTOR_PARAMS,
    RESOURCES,
    StepSpark,
    conf_value,
    free_port,
    is_local,
    master_of,
    modules_zip,
)


@dataclass(frozen=True)
class SubmitCommand:
    argv: list[str]
    env: dict[str, str]
    ui_port: int  # the driver's Spark UI, polled for progress


def submit_command(launch: StepLaunch, log: LogFn, shipped_env: str | None = None) -> SubmitCommand:
    """`shipped_env`: the zip of the step's environment for executors on other machines, which
    then run their own Python (PYSPARK_PYTHON) while the driver runs the environment's."""
    java = java_finder.find_java(launch.env)
    master = master_of(launch.compute)
    settings = StepSpark.of(launch.node, launch.code_dir)
    ui_port = free_port()
    argv = [os.path.join(spark_home(), "bin", "spark-submit"), "--master", master]
    argv += ["--name", f"{launch.step} ({launch.run_id})"]
    local = is_local(master)
    for param, value in settings.resources.items():
        key, option, _default = RESOURCES[param]
        if local and param in EXECUTOR_PARAMS:
            log(
                f"note: {param} = {value} has no effect with master {master}: "
                "in local mode the driver runs the tasks (use driver_memory)"
            )
            continue
        if param == "spark.num_executors" and not master.startswith(("yarn", "k8s://")):
            argv += ["--conf", f"{key}={value}"]  # --num-executors is a YARN/k8s option
        elif param == "spark.driver_cores":
            argv += ["--conf", f"{key}={value}"]  # --driver-cores is cluster-mode only
        else:
            argv += [option, value]
    conf = {str(k): conf_value(v) for k, v in launch.compute.conf.items()}
    conf.update(settings.conf)
    conf.setdefault("spark.ui.showConsoleProgress", "false")
    conf["spark.ui.port"] = str(ui_port)
    conf.setdefault("spark.port.maxRetries", "4")
    java_options = " ".join(
        [*startup_java_options(), str(conf.pop("spark.driver.extraJavaOptions", ""))]
    ).strip()
    if java_options:
        argv += ["--driver-java-options", java_options]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    py_files = [str(p) for p in settings.py_files]
    snapshot_modules = modules_zip(launch.code_dir, launch.entry, launch.workdir / "modules.zip")
    if snapshot_modules:
        py_files.append(str(snapshot_modules))
    if shipped_env:
        py_files.append(shipped_env)
    for option, paths in (
        ("--py-files", py_files),
        ("--jars", [str(p) for p in settings.jars]),
        ("--files", [str(p) for p in settings.files]),
    ):
        if paths:
            argv += [option, ",".join(paths)]
    argv += [str(launch.entry), *launch.args]
    env = server_env(launch.python, java, launch.env)
    if shipped_env:
        env["PYSPARK_PYTHON"] = sys.executable
    return SubmitCommand(argv, env, ui_port)
