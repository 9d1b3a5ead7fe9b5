"""`pipeloom envs FILE`: the pipeline's environments with their state (built or not, size,
path); `--build [NAME...]` builds them ahead of a run; `--prune DAYS` deletes cached
environments (of any pipeline) unused for DAYS days.

Exit codes: 0 ok, 1 a build failed, 2 bad input (unreadable pipeline or requirements file, an
interpreter that cannot run, unknown environment name).
"""

from __future__ import annotations

import argparse
import sys

from engine.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, load_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", nargs="?", help="pipeline file (YAML); optional with --prune"
    )
    parser.add_argument(
        "--build",
        metavar="NAME",
        nargs="*",
        help="build these environments (all of the pipeline's when no name is given)",
    )
    parser.add_argument(
        "--prune",
        metavar="DAYS",
        type=float,
        help="delete cached environments unused for DAYS days (0: every one not in use)",
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def run(args: argparse.Namespace) -> int:
    from engine.environments import cache

    if args.prune is not None:
        if args.prune < 0:
            print("pipeloom envs: --prune takes a number of days >= 0", file=sys.stderr)
            return EXIT_BAD_INPUT
        removed = cache.prune(args.prune)
        for built in removed:
            names = ", ".join(built.names) or "?"
            print(f"removed {built.path} ({names}: {built.spec})")
        print(f"{len(removed)} environment{'s' if len(removed) != 1 else ''} removed")
        if args.file is None:
            return EXIT_OK
    if args.file is None:
        print("pipeloom envs: FILE is required (except with --prune)", file=sys.stderr)
        return EXIT_BAD_INPUT
    pipeline = load_pipeline(args.file)
    if args.build is not None:
        return _build(pipeline, args.file, args.build)
    _list(pipeline, args.file)
    return EXIT_OK


def _users(pipeline) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for node in pipeline.nodes.values():
        name = node.params.get("environment")
        if name:
            users.setdefault(name, []).append(node.name)
    return users


def _list(pipeline, path: str) -> None:
    from engine.environments import cache, state_of
    from engine.planning.plan import project_dir

    if not pipeline.environments:
        print(f"{path} declares no environments")
        return
    base_dir = project_dir(pipeline)
    users = _users(pipeline)
    rows = []
    for env in pipeline.environments.values():
        state = state_of(env, base_dir)
        size = human_size(cache.folder_size(state.built.path)) if state.built else "-"
        steps = ", ".join(users.get(env.name, [])) or "no step"
        rows.append((env.name, state.state, size, steps, state.problem or state.path))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])), row[4])


def _build(pipeline, path: str, names: list[str]) -> int:
    from engine.environments import EnvironmentBuildError, interpreter_for
    from engine.planning.plan import project_dir
    from engine.problems import PipelineError

    unknown = [n for n in names if n not in pipeline.environments]
    if unknown:
        known = ", ".join(pipeline.environments) or "none"
        print(
            f"{path}: no environment {', '.join(repr(n) for n in unknown)} (it has: {known})",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    base_dir = project_dir(pipeline)
    failed, unreadable = [], []
    for name in names or list(pipeline.environments):
        env = pipeline.environments[name]
        try:
            python = interpreter_for(env, base_dir, lambda line: print(line, flush=True))
        except EnvironmentBuildError as e:
            print(str(e), file=sys.stderr)
            failed.append(name)
            continue
        except PipelineError as e:  # its spec cannot be read: bad input
            print(e.problems[0].message, file=sys.stderr)
            unreadable.append(name)
            continue
        if python == (env.python or sys.executable):
            print(f"environment {name}: no packages to install; steps run with {python}")
    if failed or unreadable:
        print(f"not built: {', '.join(failed + unreadable)}", file=sys.stderr)
    if unreadable:
        return EXIT_BAD_INPUT
    return EXIT_FAILED if failed else EXIT_OK
