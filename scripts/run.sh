#!/usr/bin/env bash
# Run the app: bash scripts/run.sh [app args, e.g. --db postgresql+psycopg://user@host/ecmo]
#
# Sets up first (scripts/setup_env.sh: system packages, .venv, pip install -e '.[test]'), then
# starts the desktop app. With no argument it uses the embedded SQLite database, which the app
# creates in the user's data folder on first start.
# With no screen (no DISPLAY / WAYLAND_DISPLAY / QT_QPA_PLATFORM) it stops with a message and exit code 3;
# ECMO_XVFB=1 runs the app on a virtual X screen instead.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh
ecmo_setup run

# Only --db/--lang (or nothing) opens the window; anything else is a headless subcommand
# (same rule as ecmo_desktop/__main__.py), which needs no screen.
wants_gui() {
    while [ $# -gt 0 ]; do
        case "$1" in
        --db=* | --lang=*) shift ;;
        --db | --lang) shift 2 || return 0 ;;
        *) return 1 ;;
        esac
    done
    return 0
}

if wants_gui "$@" && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    if [ "${ECMO_XVFB:-0}" = 1 ]; then
        command -v xvfb-run >/dev/null 2>&1 || ecmo_die "ECMO_XVFB=1 needs xvfb-run (apt-get install xvfb)"
        ecmo_say "no screen: running on a virtual X screen (xvfb-run)"
        exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m ecmo_desktop "$@"
    fi
    # Stop here: started without a screen, Qt aborts (exit 134) blaming a missing libxcb-cursor0.
    printf 'run.sh: %s\n' "ERROR: no screen found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open." >&2
    printf 'run.sh: %s\n' "Run this from a desktop session, or with ECMO_XVFB=1 to use a virtual screen" >&2
    printf 'run.sh: %s\n' "(bash scripts/screenshot.sh OUT.png takes a picture; .venv/bin/ecmo-desktop --help lists the headless commands)." >&2
    exit 3
fi

exec .venv/bin/python -m ecmo_desktop "$@"
