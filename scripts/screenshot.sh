#!/usr/bin/env bash
# Take a picture of the real app window on a virtual X screen:
#     bash scripts/screenshot.sh OUT.png [app args]
#
# Starts Xvfb (:99 by default, 1600x1000x24; the next free display if :99 is taken), runs the app
# with the given args, waits until one of its windows is visible, focuses it (there is no window
# manager), waits a moment, grabs the whole screen to OUT.png (with PySide6 from .venv, so nothing
# else is needed), then stops the app and Xvfb.
#
# Environment:
#   ECMO_SCREENSHOT_ACTIONS  a file of xdotool commands replayed before the grab, one per line, with
#                            shell quoting; '#' starts a comment. $WID is the app's window.
#                            Extra commands: `grab FILE.png` (an intermediate picture),
#                            `wait-window NAME` (wait until a visible window's title matches NAME).
#                            Example:
#                                type --delay 50 admin
#                                key Tab
#                                type "Admin#2024"
#                                key Return
#                                wait-window ECMO
#                                sleep 1
#   ECMO_SCREENSHOT_DELAY    seconds to wait before the grab (default 2)
#   ECMO_SCREENSHOT_TIMEOUT  seconds to wait for the window (default 60)
#   ECMO_SCREENSHOT_DISPLAY  X display to use (default :99)
#   ECMO_SCREENSHOT_CMD      program to show instead of the app (default: .venv/bin/python -m ecmo_desktop)
#   ECMO_SCREENSHOT_SIZE     screen size (default 1600x1000x24)
# The app's output goes to OUT.png.log.
set -euo pipefail

if [ $# -lt 1 ] || [[ "$1" != *.png ]]; then
    printf 'usage: %s OUT.png [app args]\n' "$0" >&2
    exit 2
fi
out="$1"
shift
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
actions="${ECMO_SCREENSHOT_ACTIONS:-}"
if [ -n "$actions" ]; then
    case "$actions" in /*) ;; *) actions="$PWD/$actions" ;; esac
    [ -f "$actions" ] || {
        printf 'screenshot: ERROR: no actions file %s\n' "$actions" >&2
        exit 2
    }
fi
mkdir -p "$(dirname "$out")"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh
ecmo_setup run
command -v Xvfb >/dev/null 2>&1 || ecmo_die "Xvfb is missing (apt-get install xvfb)"
command -v xdotool >/dev/null 2>&1 || ecmo_die "xdotool is missing (apt-get install xdotool)"

say() { printf 'screenshot: %s\n' "$*" >&2; }
die() {
    printf 'screenshot: ERROR: %s\n' "$*" >&2
    exit 1
}

display_free() {
    local n="${1#:}"
    [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]
}

xvfb_pid=""
app_pid=""
stop_pid() {
    local pid="$1" i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
        : "$i"
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    stop_pid "$app_pid"
    stop_pid "$xvfb_pid"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the virtual screen ------------------------------------------------------------------------
display="${ECMO_SCREENSHOT_DISPLAY:-:99}"
if [ -z "${ECMO_SCREENSHOT_DISPLAY:-}" ] && ! display_free "$display"; then
    for n in $(seq 100 199); do
        if display_free ":$n"; then display=":$n" && break; fi
    done
fi
display_free "$display" || die "X display $display is in use (set ECMO_SCREENSHOT_DISPLAY)"
Xvfb "$display" -screen 0 "${ECMO_SCREENSHOT_SIZE:-1600x1000x24}" -nolisten tcp -noreset \
    >"$out.xvfb.log" 2>&1 &
xvfb_pid=$!
export DISPLAY="$display"
unset WAYLAND_DISPLAY
export QT_QPA_PLATFORM=xcb
for _ in $(seq 1 100); do
    xdotool getdisplaygeometry >/dev/null 2>&1 && break
    kill -0 "$xvfb_pid" 2>/dev/null || die "Xvfb did not start: $(tail -n 2 "$out.xvfb.log" | tr '\n' ' ')"
    sleep 0.1
done
xdotool getdisplaygeometry >/dev/null 2>&1 || die "Xvfb on $display did not answer"
rm -f "$out.xvfb.log"

# --- the app -----------------------------------------------------------------------------------
if [ -n "${ECMO_SCREENSHOT_CMD:-}" ]; then
    read -r -a app_cmd <<<"$ECMO_SCREENSHOT_CMD"
else
    app_cmd=(.venv/bin/python -m ecmo_desktop)
fi
say "starting ${app_cmd[*]} $* on $display"
"${app_cmd[@]}" "$@" >"$out.log" 2>&1 &
app_pid=$!

# Wait for a visible window of that process (_NET_WM_PID), noticing if the app dies first.
WID=""
deadline=$((SECONDS + ${ECMO_SCREENSHOT_TIMEOUT:-60}))
while [ -z "$WID" ]; do
    kill -0 "$app_pid" 2>/dev/null || die "the app exited before showing a window; its output: $out.log"
    [ "$SECONDS" -lt "$deadline" ] || die "no window appeared within ${ECMO_SCREENSHOT_TIMEOUT:-60}s; app output: $out.log"
    WID="$(xdotool search --onlyvisible --pid "$app_pid" 2>/dev/null | tail -n 1 || true)"
    [ -n "$WID" ] || sleep 0.2
done
export WID
say "window $WID: $(xdotool getwindowname "$WID" 2>/dev/null || true)"
xdotool windowraise "$WID" 2>/dev/null || true
xdotool windowfocus "$WID" 2>/dev/null || true
sleep 0.5

grab() {
    local file="$1"
    case "$file" in /*) ;; *) file="$(dirname "$out")/$file" ;; esac
    .venv/bin/python - "$file" <<'EOF' || die "could not grab the screen to $file"
import sys

from PySide6.QtGui import QGuiApplication

app = QGuiApplication(sys.argv[:1])
image = app.primaryScreen().grabWindow(0)  # 0 = the root window: the whole screen
sys.exit(0 if not image.isNull() and image.save(sys.argv[1], "PNG") else 1)
EOF
    say "wrote $file"
}

# --- scripted input ----------------------------------------------------------------------------
if [ -n "$actions" ]; then
    lineno=0
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        line="${line#"${line%%[![:space:]]*}"}"
        [ -z "$line" ] || [[ "$line" == \#* ]] && continue
        eval "set -- $line"
        case "$1" in
        grab) grab "$2" ;;
        wait-window)
            timeout "${ECMO_SCREENSHOT_TIMEOUT:-60}" xdotool search --sync --onlyvisible --name "$2" >/dev/null ||
                die "$actions:$lineno: no window named '$2' appeared"
            ;;
        *) timeout 60 xdotool "$@" || die "$actions:$lineno: xdotool $line failed" ;;
        esac
        sleep 0.2
        kill -0 "$app_pid" 2>/dev/null || die "the app exited during the actions (line $lineno); its output: $out.log"
    done <"$actions"
fi

sleep "${ECMO_SCREENSHOT_DELAY:-2}"
kill -0 "$app_pid" 2>/dev/null || die "the app exited before the grab; its output: $out.log"
grab "$out"
