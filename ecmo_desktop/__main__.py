"""Entry point: no arguments (or only GUI options) start the window; a subcommand runs headless.

Two answers are given here, before Qt or the CLI is loaded: ``--version`` (the report in
``ecmo_desktop.about`` asks PySide6 for the Qt version, which the CLI package may not import), and
"no screen": on Linux without DISPLAY/WAYLAND_DISPLAY (and no QT_QPA_PLATFORM) Qt would abort the
process (SIGABRT, exit 134) blaming a missing libxcb-cursor0; we say what is wrong and exit 3.
"""

from __future__ import annotations

import os
import sys

GUI_OPTIONS = {"--db", "--lang"}
EXIT_NO_DISPLAY = 3


def _wants_gui(argv: list[str]) -> bool:
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name not in GUI_OPTIONS:
            return False
        i += 1 if "=" in arg else 2
    return True


def has_display(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return True  # Windows and macOS always have their own platform plugin
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args:
        from ecmo_desktop.about import version_report
        from ecmo_desktop.i18n import requested_language, set_language

        set_language(requested_language(args) or "zh_CN")
        print(version_report())
        return 0
    if _wants_gui(args):
        if not has_display():
            from ecmo_desktop.i18n import _, requested_language, set_language

            set_language(requested_language(args) or "zh_CN")
            print(
                _(
                    "ECMO Ward 需要图形界面，但没有找到屏幕（DISPLAY 和 WAYLAND_DISPLAY 均未设置）。\n"
                    "请在桌面会话中启动；无屏幕的服务器上可用虚拟屏幕：ECMO_XVFB=1 bash scripts/run.sh，"
                    "或 xvfb-run -a ecmo-ward。命令行功能见 ecmo-desktop --help。"
                ),
                file=sys.stderr,
            )
            return EXIT_NO_DISPLAY
        from ecmo_desktop.app import main as gui_main

        return gui_main(args)
    from ecmo_desktop.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
