# shellcheck shell=bash
# Shared set-up for scripts/run.sh, scripts/test.sh and scripts/screenshot.sh.
#
# Source it, then call `ecmo_setup run` (what the app needs) or `ecmo_setup test` (that plus the
# test tools: PostgreSQL, CUPS + CUPS-PDF, poppler). It can also be run on its own:
#     bash scripts/setup_env.sh [run|test]
#
# What it does, each step skipped when already done, so a rerun takes about a second:
#   1. Debian/Ubuntu packages, when apt-get exists (as root, or through sudo). `apt-get update`
#      runs at most once, and only when a package is missing.
#   2. A virtual environment at .venv (python3 -m venv; installs python3-venv if that fails).
#   3. `pip install -e '.[test]'`, skipped while pyproject.toml (and setup.py) are unchanged since
#      the last install: their hash is kept in .venv/.ecmo-install.sha256.
# Failures stop with one line that says what went wrong.
#
# Environment:
#   PYTHON              interpreter to build .venv with (default: first of python3, python3.13,
#                       python3.12, python3.11 that is 3.11 or newer)
#   ECMO_SKIP_APT=1     never touch system packages
#   ECMO_VERBOSE=1      show apt and pip output instead of logging it
#
# Logs go to a private folder made for this run (mktemp -d under TMPDIR), never to fixed names in
# /tmp: a file another user (e.g. an earlier root run) left there cannot be written, and the failed
# write looked like a failed step. The folder is removed when set-up succeeds and kept (and named)
# when it fails. The lock that lets several shells take turns lives in the checkout.

# CJK fonts that cover Unicode Extension B and beyond (rare surnames such as 𠀀 in PDFs). The
# documents package looks for these; change the name here if another package is chosen.
EXTRA_FONT_PACKAGES="fonts-hanazono"

# "a|b" means: the first of a, b that this release of Debian/Ubuntu has (names change over releases,
# e.g. libzbar0 became libzbar0t64, cups-pdf became printer-driver-cups-pdf).
ECMO_RUN_PACKAGES="libzbar0|libzbar0t64 xvfb xdotool
 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1
 libxcb-shape0 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1 libopengl0 libfontconfig1 libdbus-1-3
 libglib2.0-0|libglib2.0-0t64 libpulse0
 fonts-wqy-microhei fonts-droid-fallback ${EXTRA_FONT_PACKAGES}"
ECMO_TEST_PACKAGES="poppler-utils postgresql cups printer-driver-cups-pdf|cups-pdf"

ECMO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ECMO_VENV="$ECMO_ROOT/.venv"
ECMO_LOG_DIR=""
ECMO_APT_UPDATED="${ECMO_APT_UPDATED:-0}"

ecmo_say() { printf 'setup: %s\n' "$*" >&2; }
ecmo_die() {
    printf 'setup: ERROR: %s\n' "$*" >&2
    exit 1
}

# This run's own log folder, made on first use (per user, per run: mktemp -d).
ecmo_log_dir() {
    if [ -z "$ECMO_LOG_DIR" ] || [ ! -d "$ECMO_LOG_DIR" ]; then
        ECMO_LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ecmo-setup.XXXXXX")" ||
            ecmo_die "cannot make a temporary folder in ${TMPDIR:-/tmp} (set TMPDIR to a writable folder)"
    fi
}

# Run a command as root: directly when root, through sudo when it exists (non-interactive when
# there is no terminal to ask for a password). Returns 127 when neither is possible.
ecmo_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
    else
        return 127
    fi
}

ecmo_can_be_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    command -v sudo >/dev/null 2>&1 || return 1
    [ -t 0 ] && return 0
    sudo -n true 2>/dev/null
}

# Run a command with its output in a log file (or shown, with ECMO_VERBOSE=1). On failure print
# the log's tail, so the one-line error that follows has its context.
ecmo_logged() {
    local log="$1"
    shift
    if [ "${ECMO_VERBOSE:-0}" = 1 ]; then
        "$@"
        return
    fi
    if "$@" >"$log" 2>&1; then
        return 0
    else
        local rc=$?
        tail -n 20 "$log" >&2
        return "$rc"
    fi
}

ecmo_pkg_available() {
    # No `apt-cache … | grep -q`: grep's early exit would kill apt-cache with SIGPIPE, and under
    # pipefail a package that exists would look missing.
    local policy
    policy="$(LC_ALL=C apt-cache policy "$1" 2>/dev/null)" || return 1
    grep -q '^ *Candidate: [^(]' <<<"$policy"
}

ecmo_apt() {
    ecmo_as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
        -o DPkg::Lock::Timeout=300 -o APT::Get::List-Cleanup=false "$@"
}

ecmo_apt_update_once() {
    [ "$ECMO_APT_UPDATED" = 1 ] && return 0
    ecmo_say "apt-get update"
    ecmo_log_dir
    ecmo_logged "$ECMO_LOG_DIR/apt-update.log" ecmo_apt update ||
        ecmo_die "apt-get update failed (log: $ECMO_LOG_DIR/apt-update.log)"
    ECMO_APT_UPDATED=1
}

# ecmo_apt_ensure SPEC... — install the packages (SPEC is a name or "a|b|c" alternatives) that are
# not installed yet. Packages this release does not have are reported and skipped: the step that
# needs them says what then happens (e.g. the PostgreSQL tests are skipped or fail in CI).
ecmo_apt_ensure() {
    if [ "${ECMO_SKIP_APT:-0}" = 1 ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
        ecmo_say "no apt-get here: install the system packages listed in README.md by hand"
        return 0
    fi
    local spec alt missing=() skip_file="$ECMO_VENV/.ecmo-apt-unavailable" installed
    # One dpkg-query for all names (a call per package would make every rerun slower).
    # shellcheck disable=SC2046  # split into package names on purpose
    installed="$(dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' $(printf '%s\n' "$@" | tr '|' '\n') 2>/dev/null |
        sed -n 's/^ii *//p' || true)"
    installed=$'\n'"$installed"$'\n'
    for spec in "$@"; do
        local have=0
        for alt in ${spec//|/ }; do
            if [[ "$installed" == *$'\n'"$alt"$'\n'* ]]; then have=1 && break; fi
        done
        if [ "$have" = 0 ] && ! { [ -f "$skip_file" ] && grep -qxF "$spec" "$skip_file"; }; then
            missing+=("$spec")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if ! ecmo_can_be_root; then
        ecmo_say "not root and no usable sudo: skipping system packages: ${missing[*]}"
        return 0
    fi
    # The package lists may be absent (fresh image) or stale: refresh them once, before installing.
    ecmo_apt_update_once
    local install=() unavailable=()
    for spec in "${missing[@]}"; do
        local pick=""
        for alt in ${spec//|/ }; do
            if ecmo_pkg_available "$alt"; then pick="$alt" && break; fi
        done
        if [ -n "$pick" ]; then install+=("$pick"); else unavailable+=("$spec"); fi
    done
    if [ ${#unavailable[@]} -gt 0 ]; then
        ecmo_say "not available from apt here (skipped): ${unavailable[*]}"
        # Remember them so reruns do not run apt-get update again for nothing.
        if [ -d "$ECMO_VENV" ]; then printf '%s\n' "${unavailable[@]}" >>"$skip_file"; fi
    fi
    [ ${#install[@]} -eq 0 ] && return 0
    ecmo_say "installing system packages: ${install[*]}"
    ecmo_log_dir
    ecmo_logged "$ECMO_LOG_DIR/apt-install.log" ecmo_apt install --no-install-recommends "${install[@]}" ||
        ecmo_die "apt-get install failed for: ${install[*]} (log: $ECMO_LOG_DIR/apt-install.log)"
}

ecmo_python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

ecmo_find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 && ecmo_python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ecmo_ensure_venv() {
    if [ -x "$ECMO_VENV/bin/python" ] && "$ECMO_VENV/bin/python" -c '
import importlib.util, sys
sys.exit(0 if sys.version_info >= (3, 11) and importlib.util.find_spec("pip") else 1)' >/dev/null 2>&1; then
        return 0
    fi
    local py
    py="$(ecmo_find_python)" || ecmo_die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
    [ -e "$ECMO_VENV" ] && ecmo_say "rebuilding the broken virtual environment at .venv"
    rm -rf "$ECMO_VENV"
    ecmo_say "creating .venv with $py ($("$py" -c 'import platform; print(platform.python_version())'))"
    [ -w "$ECMO_ROOT" ] || ecmo_die "cannot create .venv: $ECMO_ROOT is not writable by $(id -un)"
    ecmo_log_dir
    local log="$ECMO_LOG_DIR/venv.log"
    if ! "$py" -m venv "$ECMO_VENV" >"$log" 2>&1; then
        rm -rf "$ECMO_VENV"
        # Debian/Ubuntu ship venv's ensurepip separately: only that failure is fixed by python3-venv.
        if ! grep -qiE 'ensurepip|No module named venv|python3(\.[0-9]+)?-venv' "$log"; then
            tail -n 20 "$log" >&2
            ecmo_die "$py -m venv failed (log: $log)"
        fi
        local ver
        ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        if ! ecmo_can_be_root; then
            ecmo_die "$py has no venv/ensurepip and $(id -un) cannot install python${ver}-venv (no root, no sudo):" \
                "ask an administrator to run: apt-get install python${ver}-venv"
        fi
        ecmo_say "$py has no venv/ensurepip; installing python${ver}-venv"
        ecmo_apt_ensure "python${ver}-venv|python3-venv"
        ecmo_logged "$log" "$py" -m venv "$ECMO_VENV" ||
            ecmo_die "could not create .venv with $py even after installing python${ver}-venv (log: $log)"
    fi
}

ecmo_install_hash() {
    # What the install depends on: the project's build files and the venv's Python version.
    {
        grep -E '^version' "$ECMO_VENV/pyvenv.cfg" || true
        for f in pyproject.toml setup.py; do
            if [ -f "$ECMO_ROOT/$f" ]; then
                printf '%s\n' "$f"
                cat "$ECMO_ROOT/$f"
            fi
        done
    } | sha256sum | cut -d' ' -f1
}

ecmo_ensure_python_packages() {
    local stamp="$ECMO_VENV/.ecmo-install.sha256" want
    want="$(ecmo_install_hash)" || ecmo_die "could not hash pyproject.toml"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$ECMO_VENV/bin/ecmo-desktop" ]; then
        return 0
    fi
    ecmo_say "pip install -e '.[test]' (log: $ECMO_VENV/.ecmo-pip.log)"
    rm -f "$stamp"
    ecmo_logged "$ECMO_VENV/.ecmo-pip.log" \
        env PIP_DISABLE_PIP_VERSION_CHECK=1 "$ECMO_VENV/bin/python" -m pip install -e "${ECMO_ROOT}[test]" ||
        ecmo_die "pip install -e '.[test]' failed (log: $ECMO_VENV/.ecmo-pip.log)"
    printf '%s\n' "$want" >"$stamp"
}

# ecmo_setup run|test — everything the app (run) or the test suite (test) needs.
ecmo_setup() {
    local mode="${1:-run}" lock
    case "$mode" in
    run) ;;
    test) ;;
    *) ecmo_die "ecmo_setup: unknown mode '$mode' (run|test)" ;;
    esac
    # Several shells may set up the same checkout at once: take turns. The lock is in the checkout
    # (whoever sets it up must be able to write there anyway), not a shared name in /tmp.
    lock="$ECMO_ROOT/.ecmo-setup.lock"
    { exec 8>"$lock"; } 2>/dev/null || ecmo_die "cannot write $lock: is $ECMO_ROOT writable by $(id -un)?"
    if command -v flock >/dev/null 2>&1; then
        flock 8 || ecmo_die "could not lock $lock"
    fi
    # shellcheck disable=SC2086  # the package lists are meant to split into words
    if [ "$mode" = test ]; then
        ecmo_apt_ensure $ECMO_RUN_PACKAGES $ECMO_TEST_PACKAGES
    else
        ecmo_apt_ensure $ECMO_RUN_PACKAGES
    fi
    ecmo_ensure_venv
    ecmo_ensure_python_packages
    exec 8>&-
    # Success: this run's logs are of no further use (a failure exits above and keeps them).
    if [ -n "$ECMO_LOG_DIR" ]; then rm -rf "$ECMO_LOG_DIR"; fi
    ECMO_LOG_DIR=""
}

# Run directly: set up and stop.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    ecmo_setup "${1:-test}"
    ecmo_say "ready: $ECMO_VENV"
fi
