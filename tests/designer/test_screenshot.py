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
    message = app.xcb_problem(lambda name: None, display_reachable=lambda: True)
    assert message and "libxcb-cursor0" in message
    assert app.xcb_problem(lambda name: f"lib{name}.so.0", display_reachable=lambda: True) is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.xcb_problem(lambda name: None, display_reachable=lambda: False) is None


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


def present(name: str) -> str:
    """A library lookup on a machine that has every library Qt's xcb plugin loads."""
    return f"lib{name}.so.0"


def test_missing_x11_libraries_are_named_before_the_display(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":97")
    absent = {"xcb-icccm", "xcb-keysyms"}  # libxcb and libxcb-cursor0 present, these two not

    def lookup(name: str) -> str | None:
        return None if name in absent else present(name)

    asked = []
    message = app.xcb_problem(lookup, display_reachable=lambda: asked.append(1) or False)
    assert message and "libxcb-icccm4, libxcb-keysyms1" in message
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in message
    assert "libxcb-cursor0" not in message and ":97" not in message
    assert asked == []  # the server is not asked while Qt could not start anyway


def test_unreachable_x_display_is_reported(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":97")  # no X server listens here
    message = app.xcb_problem(present, display_reachable=lambda: False)
    assert message and "cannot connect to the X display ':97'" in message
    assert app.xcb_problem(present, display_reachable=lambda: True) is None


def test_the_display_probe_asks_libxcb(monkeypatch):
    """The real probe, through the real libxcb, against a display where no server listens."""
    real_xcb = app.ctypes.util.find_library("xcb")
    if real_xcb is None:
        pytest.skip("libxcb is not installed: the probe has nothing to ask")
    monkeypatch.setenv("DISPLAY", ":97")
    assert app._x_display_reachable() is False
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    lookup = {"xcb": real_xcb}.get  # libxcb is loaded for real; the others need only be found
    message = app.xcb_problem(lambda name: lookup(name) or present(name))
    assert message and "cannot connect to the X display ':97'" in message
    # without libxcb the probe cannot tell, so it does not stand in Qt's way
    assert app._x_display_reachable(lambda name: None) is True


def test_startup_objects_are_kept_out_of_the_cycle_collector():
    import gc

    try:
        app.freeze_startup_objects()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
