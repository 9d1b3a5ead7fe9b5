"""Helpers for the canvas tests: a small pipeline, a shown view, real mouse events."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from designer.canvas import make_canvas
from designer.document import Document
from engine.pipeline.model import InputPort, Node, OutputPort, Pipeline, Ref

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.MouseButton.NoButton


def small_pipeline() -> Pipeline:
    """titanic -> prep -> train; `files` is a file dataset; `report` is unconnected."""
    p = Pipeline("small")
    p.nodes["titanic"] = Node(
        "titanic", "dataset", {"kind": "tabular", "path": "t.csv"}, position=(0, 0)
    )
    p.nodes["files"] = Node("files", "dataset", {"kind": "file", "path": "docs"}, position=(0, 200))
    p.nodes["prep"] = Node(
        "prep",
        "spark-step",
        {"file": "prep.py"},
        inputs=[InputPort("table", Ref("titanic"))],
        outputs=[OutputPort("out")],
        position=(300, 0),
    )
    p.nodes["train"] = Node(
        "train",
        "script-step",
        {"script": "train.py"},
        inputs=[
            InputPort("data", Ref("prep", "out")),
            InputPort("extra"),
            InputPort("typed", kind="tabular"),
        ],
        outputs=[OutputPort("model", kind="file")],
        position=(600, 0),
    )
    p.nodes["report"] = Node(
        "report",
        "script-step",
        {"script": "report.py"},
        inputs=[InputPort("model")],
        outputs=[OutputPort("html", kind="file")],
        position=(600, 300),
    )
    return p


def open_canvas(qtbot, pipeline: Pipeline | None = None, size=(1200, 800)):
    document = Document(pipeline if pipeline is not None else small_pipeline())
    view = make_canvas(document)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.reset_zoom()
    view.centerOn(QPointF(400, 200))
    messages: list[str] = []
    view.message.connect(messages.append)
    return document, view, view.pipeline_scene, messages


def send_mouse(
    view,
    kind: QEvent.Type,
    scene_pos: QPointF,
    button=LEFT,
    buttons=LEFT,
    modifiers=Qt.KeyboardModifier.NoModifier,
):
    viewport = view.viewport()
    local = QPointF(view.mapFromScene(scene_pos))
    global_pos = QPointF(viewport.mapToGlobal(local.toPoint()))
    event = QMouseEvent(kind, local, global_pos, button, buttons, modifiers)
    QApplication.sendEvent(viewport, event)


def drag(
    view,
    start: QPointF,
    end: QPointF,
    steps: int = 4,
    modifiers=Qt.KeyboardModifier.NoModifier,
    release=True,
):
    """Press at `start`, move in steps to `end` with the button held, release there."""
    send_mouse(view, QEvent.Type.MouseButtonPress, start, LEFT, LEFT, modifiers)
    for i in range(1, steps + 1):
        t = i / steps
        at = QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        send_mouse(view, QEvent.Type.MouseMove, at, NONE, LEFT, modifiers)
    if release:
        send_mouse(view, QEvent.Type.MouseButtonRelease, end, LEFT, NONE, modifiers)


def port_pos(scene, node: str, direction: str, port: str) -> QPointF:
    return scene.nodes[node].port_scene_pos(direction, port)


def body_pos(scene, node: str) -> QPointF:
    """A point on the node's body below its title, away from ports."""
    item = scene.nodes[node]
    r = item.sceneBoundingRect()
    return QPointF(r.center().x(), item.scenePos().y() + 34)


def title_pos(scene, node: str) -> QPointF:
    item = scene.nodes[node]
    return item.mapToScene(item.title_rect().center())
