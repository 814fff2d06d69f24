"""Entry point: no arguments (or only GUI options) start the window; a subcommand runs headless."""

from __future__ import annotations

import sys

GUI_OPTIONS = {"--db", "--lang"}


def _wants_gui(argv: list[str]) -> bool:
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name not in GUI_OPTIONS:
            return False
        i += 1 if "=" in arg else 2
    return True


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if _wants_gui(args):
        from ecmo_desktop.app import main as gui_main

        return gui_main(args)
    from ecmo_desktop.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
