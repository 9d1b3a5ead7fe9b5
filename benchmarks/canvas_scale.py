"""The canvas with a generated 1,000-node, 999-wire pipeline, against a bare QGraphicsScene.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/canvas_scale.py [--repeat 10] [--no-write]

Measured for Pipeloom's canvas and, in the same run, for a bare QGraphicsScene of the same
number of rectangles and bezier paths (the floor): time to open (Document + scene + view shown
and first frame), one full viewport repaint at fit-to-view and at 100% (median of --repeat),
and peak memory (ru_maxrss of a fresh process per configuration). Peers measured on this
machine with the same shape: NodeGraphQt 0.94 s, 21.6 ms, 305 MB; orange-canvas-core 38 s,
135 ms, 396 MB. Target: beat NodeGraphQt on all three, aiming at half of it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

NODES = 1000
WINDOW = (1280, 800)
PEERS = {  # open s, repaint ms (fit), peak MB, measured on this machine by the team lead
    "NodeGraphQt 0.94": (0.94, 21.6, 305),
    "orange-canvas-core": (38.0, 135.0, 396),
}
PEERS_FLOOR = (0.04, 8.3, 102)  # the bare scene measured in the same session as the peers


def generated_pipeline(count: int = NODES, seed: int = 3):
    """One dataset and count-1 steps, each step reading one earlier node: count-1 wires."""
    from engine.pipeline.model import InputPort, Node, OutputPort, Pipeline, Ref

    rng = random.Random(seed)
    p = Pipeline("scale")
    cols = 40
    for i in range(count):
        pos = ((i // 25) * 280.0, (i % 25) * 160.0) if cols else None
        if i == 0:
            node = Node("data_0", "dataset", {"kind": "tabular", "path": "data.csv"}, position=pos)
        else:
            src = rng.randrange(max(0, i - 30), i)
            src_name = "data_0" if src == 0 else f"step_{src}"
            kind = "spark-step" if i % 3 else "script-step"
            entry = "file" if kind == "spark-step" else "script"
            node = Node(
                f"step_{i}",
                kind,
                {entry: f"step_{i}.py"},
                inputs=[InputPort("input", Ref(src_name, None if src == 0 else "output"))],
                outputs=[OutputPort("output")],
                position=pos,
            )
        p.nodes[node.name] = node
    return p


def _median_repaint(app, view, repeat: int) -> tuple[float, float]:
    """(wall, CPU) medians: CPU time of this thread is robust to other work on the machine."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.thread_time()
        view.viewport().repaint()
        walls.append(time.perf_counter() - start)
        cpus.append(time.thread_time() - cpu)
    app.processEvents()
    return statistics.median(walls), statistics.median(cpus)


def _median_zoom_frame(app, view, repeat: int, zoom) -> float:
    """CPU median of a wheel-zoom step plus its repaint: every cache is cold after a zoom."""
    cpus = []
    for i in range(repeat):
        start = time.thread_time()
        zoom(view, 1.02 if i % 2 == 0 else 1 / 1.02)
        view.viewport().repaint()
        cpus.append(time.thread_time() - start)
    app.processEvents()
    return statistics.median(cpus)


def _worker_ours(repeat: int, index: str = "bsp") -> dict:
    from PySide6.QtWidgets import QApplication, QGraphicsScene

    app = QApplication.instance() or QApplication([])
    from designer.canvas import make_canvas
    from designer.document import Document

    pipeline = generated_pipeline()
    start, cpu = time.perf_counter(), time.process_time()
    document = Document(pipeline)
    view = make_canvas(document)
    if index == "none":  # the alternative the scene's BspTreeIndex was chosen against
        view.pipeline_scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
    built = time.perf_counter() - start
    view.resize(*WINDOW)
    view.show()
    view.fit_to_view()
    view.viewport().repaint()
    app.processEvents()
    opened, opened_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(view.pipeline_scene.nodes) == NODES and len(view.pipeline_scene.wires) == NODES - 1
    fit = _median_repaint(app, view, repeat)
    fit_zoom = view.zoom()
    fit_zoom_frame = _median_zoom_frame(app, view, repeat, lambda v, f: v.zoom_by(f))
    view.fit_to_view()
    view.reset_zoom()
    view.centerOn(view.pipeline_scene.nodes_rect().center())
    view.viewport().repaint()
    full = _median_repaint(app, view, repeat)
    full_zoom_frame = _median_zoom_frame(app, view, repeat, lambda v, f: v.zoom_by(f))
    return {
        "fit_zoom_frame": fit_zoom_frame,
        "full_zoom_frame": full_zoom_frame,
        "build": built,
        "open": opened,
        "open_cpu": opened_cpu,
        "fit": fit[0],
        "fit_cpu": fit[1],
        "full": full[0],
        "full_cpu": full[1],
        "fit_zoom": fit_zoom,
    }


def _worker_bare(repeat: int) -> dict:
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QPainter, QPainterPath
    from PySide6.QtWidgets import (
        QApplication,
        QGraphicsPathItem,
        QGraphicsRectItem,
        QGraphicsScene,
        QGraphicsView,
    )

    app = QApplication.instance() or QApplication([])
    pipeline = generated_pipeline()
    start, cpu = time.perf_counter(), time.process_time()
    scene = QGraphicsScene()
    rects = {}
    for name, node in pipeline.nodes.items():
        item = QGraphicsRectItem(QRectF(0, 0, 180, 80))
        item.setPos(*node.position)
        scene.addItem(item)
        rects[name] = item
    for e in pipeline.edges():
        a = rects[e.source].pos() + QPointF(180, 40)
        b = rects[e.target].pos() + QPointF(0, 40)
        path = QPainterPath(a)
        path.cubicTo(a + QPointF(60, 0), b - QPointF(60, 0), b)
        scene.addItem(QGraphicsPathItem(path))
    view = QGraphicsView(scene)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    built = time.perf_counter() - start
    view.resize(*WINDOW)
    view.show()
    view.fitInView(scene.itemsBoundingRect())
    view.viewport().repaint()
    app.processEvents()
    opened, opened_cpu = time.perf_counter() - start, time.process_time() - cpu
    fit = _median_repaint(app, view, repeat)
    fit_zoom = view.transform().m11()
    fit_zoom_frame = _median_zoom_frame(app, view, repeat, lambda v, f: v.scale(f, f))
    view.resetTransform()
    view.centerOn(scene.itemsBoundingRect().center())
    view.viewport().repaint()
    full = _median_repaint(app, view, repeat)
    full_zoom_frame = _median_zoom_frame(app, view, repeat, lambda v, f: v.scale(f, f))
    return {
        "fit_zoom_frame": fit_zoom_frame,
        "full_zoom_frame": full_zoom_frame,
        "build": built,
        "open": opened,
        "open_cpu": opened_cpu,
        "fit": fit[0],
        "fit_cpu": fit[1],
        "full": full[0],
        "full_cpu": full[1],
        "fit_zoom": fit_zoom,
    }


def _cpu_median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        times.append(time.thread_time() - start)
    return statistics.median(times)


def _worker_interact(nodes: int, index: str, repeat: int) -> dict:
    """Interaction at 100%: a pan step, a node-drag frame, a port hit test, a model move."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication, QGraphicsScene

    app = QApplication.instance() or QApplication([])
    from designer.canvas import make_canvas
    from designer.document import Document
    from engine.pipeline import changes as ch

    document = Document(generated_pipeline(nodes))
    view = make_canvas(document)
    scene = view.pipeline_scene
    if index == "none":
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
    view.resize(*WINDOW)
    view.show()
    view.reset_zoom()
    middle = f"step_{nodes // 2}"
    item = scene.nodes[middle]
    view.centerOn(item)
    app.processEvents()

    def pan() -> None:
        view._pan_by(QPointF(0, -30))
        app.processEvents()

    def drag_frame() -> None:
        item.setPos(item.pos() + QPointF(3, 2))
        scene._update_wire_ends(middle)
        app.processEvents()

    steps = iter(range(10**6))

    def model_move() -> None:
        x = 40.0 * (next(steps) % 7)
        document.push(ch.MoveNode(f"step_{nodes // 2 - 100}", (x, 40.0)))
        app.processEvents()

    hit_at = item.scenePos() + QPointF(5, 50)
    return {
        "pan": _cpu_median(pan, repeat),
        "drag": _cpu_median(drag_frame, repeat),
        "hit": _cpu_median(lambda: scene.port_at(hit_at), repeat * 5),
        "move": _cpu_median(model_move, repeat),
    }


def worker(kind: str, repeat: int) -> None:
    if kind.startswith("interact-"):
        _, index, nodes = kind.split("-")
        result = _worker_interact(int(nodes), index, repeat)
    elif kind == "bare":
        result = _worker_bare(repeat)
    else:
        result = _worker_ours(repeat, "none" if kind == "ours-noindex" else "bsp")
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run(kind: str, repeat: int, processes: int) -> dict:
    """Each metric's median over `processes` fresh processes (the machine is shared)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    results = []
    for _ in range(processes):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", kind, "--repeat", str(repeat)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--worker")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repeat)
        return 0
    from results import table, write_section

    bare = run("bare", args.repeat, args.processes)
    ours = run("ours", args.repeat, args.processes)
    noindex = run("ours-noindex", args.repeat, args.processes)
    interaction = {
        (index, nodes): run(f"interact-{index}-{nodes}", args.repeat, 1)
        for nodes in (NODES, 5 * NODES)
        for index in ("bsp", "none")
    }

    def row(name: str, r: dict) -> list[str]:
        return [
            name,
            f"{r['open']:.2f} s ({r['open_cpu']:.2f} s CPU)",
            f"{r['fit'] * 1000:.1f} ms ({r['fit_cpu'] * 1000:.1f} ms CPU)",
            f"{r['full'] * 1000:.1f} ms ({r['full_cpu'] * 1000:.1f} ms CPU)",
            f"{r['fit_zoom_frame'] * 1000:.1f} / {r['full_zoom_frame'] * 1000:.1f} ms",
            f"{r['peak_mb']:.0f} MB",
        ]

    rows = [
        row("Pipeloom canvas (BspTreeIndex, shipped)", ours),
        row("Pipeloom canvas with NoIndex", noindex),
        row("bare QGraphicsScene (same run)", bare),
    ]
    for name, (o, r, m) in PEERS.items():
        rows.append(
            [f"{name} (earlier, same machine)", f"{o:.2f} s", f"{r:.1f} ms", "-", "-", f"{m} MB"]
        )
    ngq = PEERS["NodeGraphQt 0.94"]
    floor = PEERS_FLOOR

    def vs_floor(mine: float, my_floor: float, theirs: float, their_floor: float) -> str:
        return f"{mine / my_floor:.2f}x vs {theirs / their_floor:.2f}x"

    verdict = (
        "Each measured against the bare scene of its own session (load-independent): open "
        f"{vs_floor(ours['open_cpu'], bare['open_cpu'], ngq[0], floor[0])}, repaint at fit "
        f"{vs_floor(ours['fit_cpu'], bare['fit_cpu'], ngq[1], floor[1])}, memory "
        f"{vs_floor(ours['peak_mb'], bare['peak_mb'], ngq[2], floor[2])} "
        "(Pipeloom vs NodeGraphQt). "
        f"Against NodeGraphQt (wall): open {ours['open'] / ngq[0]:.2f}x, repaint at fit "
        f"{ours['fit'] * 1000 / ngq[1]:.2f}x, memory {ours['peak_mb'] / ngq[2]:.2f}x "
        "(target: below 1x on all three, aiming at 0.5x). Against the bare scene of this run "
        f"(CPU): open {ours['open_cpu'] / bare['open_cpu']:.1f}x, repaint at fit "
        f"{ours['fit_cpu'] / bare['fit_cpu']:.2f}x, at 100% "
        f"{ours['full_cpu'] / bare['full_cpu']:.2f}x, memory "
        f"{ours['peak_mb'] / bare['peak_mb']:.2f}x."
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = (
        f"{NODES} nodes (1 dataset, spark and script steps), {NODES - 1} wires, laid out 40x25; "
        f"window {WINDOW[0]}x{WINDOW[1]} offscreen; fit-to-view zoom {ours['fit_zoom']:.3f} "
        f"(bare {bare['fit_zoom']:.3f}); repaint = median of {args.repeat} "
        "`viewport().repaint()`; open = Document + scene + view shown + first frame; peak "
        "memory = ru_maxrss of a fresh process; each number is the median over "
        f"{args.processes} fresh processes per row. Wall times depend on the load of this "
        f"shared machine (load average {load} at the end of the run), so CPU times (this "
        "process/thread) are given too. A plain repaint reuses the view's caches (node pixmaps, "
        "the background with the wires); a zoom step (2%, wheel-like) rebuilds them all, so it "
        "is the cold cost.\n\n"
        + table(
            [
                "",
                "open",
                "repaint, fit to view",
                "repaint, 100%",
                "zoom step + repaint (CPU), fit / 100%",
                "peak memory",
            ],
            rows,
        )
        + "\n\n"
        + verdict
        + " The scene keeps BspTreeIndex: NoIndex is within noise on these repaints at 1,000 "
        "nodes, and several times slower to pan, drag and hit-test at 5,000 (table below)."
    )
    interaction_rows = [
        [
            f"{nodes} nodes, {'BspTreeIndex' if index == 'bsp' else 'NoIndex'}",
            f"{r['pan'] * 1000:.1f} ms",
            f"{r['drag'] * 1000:.1f} ms",
            f"{r['hit'] * 1000:.2f} ms",
            f"{r['move'] * 1000:.1f} ms",
        ]
        for (index, nodes), r in interaction.items()
    ]
    body += (
        "\n\nInteraction at 100% (CPU, median of "
        f"{args.repeat}): the index decision. A pan step (30 px, with its repaint), a frame of "
        "dragging a node (its wires follow), a hit test for a port under the cursor, and a "
        "model move (an undoable MoveNode applied and repainted).\n\n"
        + table(["", "pan step", "drag frame", "port hit test", "model move"], interaction_rows)
    )
    print(body)
    if not args.no_write:
        write_section(
            "canvas_scale.py",
            "QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/canvas_scale.py",
            body,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
