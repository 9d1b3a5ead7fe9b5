"""The Pipeline tab's "Test connection": real checks (this machine's pool, a master nobody
listens for), off the GUI thread, results shown per compute."""

from __future__ import annotations

import socket

from PySide6.QtCore import Qt

from engine.pipeline import changes as ch
from engine.pipeline.model import Compute


def test_test_connection_reports_each_compute(opened, qtbot):
    window = opened
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    window.document.push(
        ch.SetEntry(
            "computes", "gone", Compute("gone", "spark", master=f"spark://127.0.0.1:{port}")
        )
    )
    tester = window.pipeline_panel.tables["computes"].tester
    assert tester is not None and tester.button.text() == "Test connection"
    qtbot.mouseClick(tester.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tester.running and bool(tester.reports), timeout=30_000)
    reports = {r.name: r for r in tester.reports}
    assert set(reports) == {"link1-spark01", "cpucluster", "gone"}
    assert reports["cpucluster"].reachable
    assert not reports["gone"].reachable
    text = tester.result.text()
    assert f"spark://127.0.0.1:{port}" in text and "unreachable" in text
    assert "cpucluster" in text and "reachable" in text
    window.pipeline_panel.grab().save("/tmp/pipeloom-test-connection.png")
