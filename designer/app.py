"""`pipeloom-designer [FILE] [--screenshot OUT.png] [--size WxH] [--theme light|dark] [--run]`.

With --screenshot the window is laid out offscreen (no display needed), rendered to a PNG, and
the program exits: for documentation and for checking the GUI on headless machines. With --run
as well, the pipeline is run first and the window captured once the run has ended.
"""

from __future__ import annotations

import argparse
import ctypes.util
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path

ORGANIZATION = "Pipeloom"
APPLICATION = "Pipeloom Designer"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pipeloom-designer", description="Design and run Pipeloom pipelines."
    )
    parser.add_argument("file", nargs="?", help="pipeline file to open (.yaml)")
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="render the window to a PNG and exit"
    )
    parser.add_argument("--size", default="1440x900", help="window size for --screenshot (WxH)")
    parser.add_argument(
        "--select",
        metavar="NODE",
        help="with --screenshot: select this node (shown in the inspector)",
    )
    parser.add_argument(
        "--theme", choices=("system", "light", "dark"), help="colour theme (default: the saved one)"
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="with --screenshot: run the pipeline first and capture its finished run "
        "(exit status 1 when the run did not complete)",
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="with --run: cancel the run and fail after this long (default 900)",
    )
    args = parser.parse_args(argv)
    if args.run and not (args.screenshot and args.file):
        parser.error("--run needs a FILE and --screenshot OUT.png")
    if args.run_timeout <= 0:
        parser.error(f"--run-timeout must be a number of seconds above 0, got {args.run_timeout:g}")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        if w < 200 or h < 150:
            raise ValueError
    except ValueError:
        parser.error(f"--size must look like 1440x900, got {args.size!r}")
    args.width, args.height = w, h
    return args


def choose_platform(screenshot: bool) -> None:
    """Use the offscreen platform for screenshots when there is no display to talk to."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if screenshot and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        if sys.platform.startswith("linux"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"


# libraries Qt's xcb plugin loads that a minimal Debian/Ubuntu lacks: (soname stem, package)
XCB_LIBRARIES = (
    ("xcb-cursor", "libxcb-cursor0"),
    ("xcb-icccm", "libxcb-icccm4"),
    ("xcb-keysyms", "libxcb-keysyms1"),
    ("xcb-image", "libxcb-image0"),
    ("xcb-render-util", "libxcb-render-util0"),
    ("xcb-shape", "libxcb-shape0"),
    ("xcb-randr", "libxcb-randr0"),
    ("xcb-xkb", "libxcb-xkb1"),
    ("xkbcommon-x11", "libxkbcommon-x11-0"),
    ("EGL", "libegl1"),
)


def xcb_problem(
    find_library: Callable[[str], str | None] | None = None,
    display_reachable: Callable[[], bool] | None = None,
) -> str | None:
    """Why Qt's xcb platform plugin would abort on this machine, if we can tell in advance.

    `find_library` looks a library up by soname stem and `display_reachable` asks the X server;
    both are parameters so a test decides which libraries exist and whether a server answers.
    """
    find_library = find_library or ctypes.util.find_library
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    uses_xcb = platform.startswith("xcb") or (
        not platform and not os.environ.get("WAYLAND_DISPLAY")
    )
    if not uses_xcb:
        return None
    if not os.environ.get("DISPLAY"):
        return (
            "no display to show the window on (DISPLAY is not set); run it inside a desktop "
            "session, or render with --screenshot OUT.png"
        )
    missing = [pkg for lib, pkg in XCB_LIBRARIES if find_library(lib) is None]
    if missing:
        return (
            f"Qt needs {', '.join(missing)} to show windows on X11; install "
            f"{'it' if len(missing) == 1 else 'them'} (Debian/Ubuntu: sudo apt install "
            f"{' '.join(missing)}), or run with --screenshot / QT_QPA_PLATFORM=offscreen."
        )
    reachable = display_reachable or (lambda: _x_display_reachable(find_library))
    if not reachable():
        return (
            f"cannot connect to the X display {os.environ['DISPLAY']!r}; check DISPLAY (and "
            "xauth), or render with --screenshot OUT.png"
        )
    return None


def _x_display_reachable(find_library: Callable[[str], str | None] | None = None) -> bool:
    """Ask libxcb whether DISPLAY accepts a connection (True when that cannot be checked)."""
    name = (find_library or ctypes.util.find_library)("xcb")
    if name is None:
        return True
    try:
        xcb = ctypes.CDLL(name)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return True
    connection = xcb.xcb_connect(None, None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def render_screenshot(window, out: str, width: int, height: int, select: str | None) -> None:
    from PySide6.QtWidgets import QApplication

    window.resize(width, height)
    window.show()
    for _ in range(3):
        QApplication.processEvents()
    if select:
        if select not in window.scene.nodes:
            raise OSError(f"--select: the pipeline has no node named {select!r}")
        window.scene.select_nodes([select])
    window.zoom_fit()
    QApplication.processEvents()
    image = window.grab()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if not image.save(out, "PNG"):
        raise OSError(f"could not write {out}")


def screenshot_after_run(window, args) -> int:
    """--screenshot with --run: 0 when the run completed, 1 when it failed or was canceled
    (the PNG shows it all the same), 2 when it did not start or did not end in time (no PNG)."""
    from PySide6.QtWidgets import QApplication

    from designer.screenshot_run import RunNotFinished, run_and_wait, show_run_docks

    window.resize(args.width, args.height)
    window.show()
    QApplication.processEvents()
    try:
        try:
            finished = run_and_wait(window, args.run_timeout)
        except RunNotFinished as e:
            print(f"pipeloom-designer: {e}", file=sys.stderr)
            return 2
        show_run_docks(window)
        render_screenshot(window, args.screenshot, args.width, args.height, args.select)
    finally:
        window.run_commands.shutdown()  # stops the warm Spark servers the run started
    if not finished.completed:
        print(
            f"pipeloom-designer: the run {finished.summary.status.lower()}: "
            f"{window.run_commands.status_text}",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    choose_platform(bool(args.screenshot))
    problem = xcb_problem()
    if problem:
        print(f"pipeloom-designer: {problem}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationDisplayName("Pipeloom")

    from designer.mainwindow import MainWindow
    from designer.theme import ThemeManager, icon

    themes = ThemeManager.instance()
    if args.theme:
        themes.apply(args.theme, store=not args.screenshot)
    app.setWindowIcon(icon("app"))
    if args.screenshot:
        from designer.screenshot_run import HeadlessDialogs

        window = MainWindow(dialogs=HeadlessDialogs())  # offscreen, no question can be answered
    else:
        window = MainWindow()
    if args.screenshot:
        # a screenshot shows the file as it is: no recovery prompts, nothing remembered
        window.files.autosave_timer.stop()
        if args.file:
            from designer.document import Document
            from designer.files import read_pipeline
            from engine.problems import PipelineError

            try:
                pipeline = read_pipeline(args.file)
            except PipelineError as e:
                print(f"pipeloom-designer: {e}", file=sys.stderr)
                return 2
            window.set_document(Document(pipeline, Path(args.file).absolute()))
        try:
            if args.run:
                return screenshot_after_run(window, args)
            render_screenshot(window, args.screenshot, args.width, args.height, args.select)
        except OSError as e:
            print(f"pipeloom-designer: {e}", file=sys.stderr)
            return 2
        return 0
    install_error_hook(window)
    freeze_startup_objects()
    if args.file:
        window.files.open(args.file)
    else:
        window.files.offer_startup_recovery()
    window.show()
    _close_on_ctrl_c(app)
    return app.exec()


def freeze_startup_objects() -> None:
    """Put what start-up built (modules, Qt wrappers, the window) out of the cycle collector's
    reach, so its full collections walk only what came later: while a run streamed 300,000
    lines they paused the GUI thread ~50-100 ms each (benchmarks/designer_scale.py). Called
    before a pipeline is opened, so documents replaced later are still collected."""
    gc.collect()
    gc.freeze()


def install_error_hook(window) -> None:
    """A bug in a handler shows a dialog (traceback under Details) instead of only stderr."""
    import traceback

    def hook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        print(text, file=sys.stderr)
        try:
            window.dialogs.error("Unexpected error", f"{kind.__name__}: {value}", details=text)
        except Exception:  # noqa: BLE001 - the hook must never raise
            pass

    sys.excepthook = hook


def _close_on_ctrl_c(app) -> None:
    """Ctrl-C in the terminal closes the windows (asking about unsaved work) instead of being
    held until the next Qt event; a timer lets Python run its signal handler."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: app.closeAllWindows())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


if __name__ == "__main__":
    sys.exit(main())
