"""`pipeloom-designer FILE --screenshot OUT.png` renders the window headless and exits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from designer import app
from tests.designer.conftest import PROJECTS


def run_designer(args, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["HOME"] = str(tmp_path / "home")  # settings and recovery stay private
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    return subprocess.run(
        [sys.executable, "-m", "designer.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def distinct_colours(image: QImage, step: int = 7) -> int:
    seen = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
    return len(seen)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_of_the_example(tmp_path, theme):
    out = tmp_path / f"shot-{theme}.png"
    done = run_designer(
        [
            str(PROJECTS / "titanic" / "pipeline.yaml"),
            "--screenshot",
            str(out),
            "--size",
            "1200x760",
            "--theme",
            theme,
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 760)
    assert distinct_colours(image) > 50  # a real window, not a blank frame
    corner = image.pixelColor(5, 5)  # the menu bar follows the theme
    assert (corner.lightness() > 200) == (theme == "light")


def test_screenshot_of_a_broken_file_fails_cleanly(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipeloom: 1\nnodes: [1, 2\n")
    done = run_designer([str(broken), "--screenshot", str(tmp_path / "x.png")], tmp_path)
    assert done.returncode == 2
    assert "broken.yaml" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_bad_size_is_a_usage_error(tmp_path):
    done = run_designer(["--screenshot", str(tmp_path / "x.png"), "--size", "big"], tmp_path)
    assert done.returncode == 2 and "--size" in done.stderr


def test_missing_xcb_cursor_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(app.ctypes.util, "find_library", lambda name: None)
    message = app.xcb_problem()
    assert message and "libxcb-cursor0" in message
    monkeypatch.setattr(app.ctypes.util, "find_library", lambda name: f"lib{name}.so.0")
    monkeypatch.setattr(app, "_x_display_reachable", lambda: True)
    assert app.xcb_problem() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(app.ctypes.util, "find_library", lambda name: None)
    assert app.xcb_problem() is None


def test_no_display_is_one_clear_line_not_an_abort(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "designer.app", str(PROJECTS / "titanic" / "pipeline.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]


def test_offscreen_is_chosen_without_a_display(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    app.choose_platform(screenshot=True)
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("DISPLAY", ":0")
    app.choose_platform(screenshot=True)
    assert "QT_QPA_PLATFORM" not in os.environ


def test_ctrl_c_closes_windows_asking_about_unsaved_work(window, qtbot, dialogs):
    import signal

    from PySide6.QtWidgets import QApplication

    from designer.dialogs import SaveAnswer
    from engine.pipeline import changes as ch

    window.document.push(ch.SetEntry("meta", "name", "changed"))
    dialogs.save_answer = SaveAnswer.DISCARD
    previous = signal.getsignal(signal.SIGINT)
    try:
        app._close_on_ctrl_c(QApplication.instance())
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert ("save_changes", "Untitled") in dialogs.asked


def test_error_hook_shows_a_dialog(window, dialogs, capsys):
    previous = sys.excepthook
    try:
        app.install_error_hook(window)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = previous
    kind, title, text = dialogs.asked[-1]
    assert (kind, title, text) == ("error", "Unexpected error", "RuntimeError: boom")
    assert "Traceback" in capsys.readouterr().err


def test_unreachable_x_display_is_reported(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":97")  # no X server listens here
    if (
        app.ctypes.util.find_library("xcb") is None
        or app.ctypes.util.find_library("xcb-cursor") is None
    ):
        pytest.skip("needs libxcb and libxcb-cursor to ask the (absent) server")
    message = app.xcb_problem()
    assert message and "cannot connect to the X display ':97'" in message
