#!/usr/bin/env bash
# The test command: bash scripts/test.sh [pytest args]
#
# 1. Set-up (scripts/setup_env.sh: system packages, .venv, pip install -e '.[test]').
# 2. A throwaway PostgreSQL server on 127.0.0.1 (scripts/pg_test_server.sh) unless ECMO_TEST_PG_URL
#    is already set; stopped on exit. Without PostgreSQL binaries: CI fails, elsewhere SQLite only.
# 3. A private CUPS server (its own cupsd in a temporary folder, CUPS_SERVER points at it; stopped
#    and removed on exit — the system's CUPS is not touched) with a queue ECMO-PDF →
#    ECMO_TEST_PRINTER and ECMO_TEST_PRINTER_OUTDIR (the print tests skip without them).
# 4. In order, stopping at the first failure:
#      ruff check · ruff format --check · mypy · lint-imports · pytest -n 2 (SQLite + PostgreSQL; extra args go here)
#      · pytest --no-qt on tests/unit, tests/storage, tests/services (PySide6 imports blocked)
# 5. A summary with each step's time and the total.
#
# Environment: ECMO_TEST_PG_URL (use this server instead), ECMO_TEST_PG_PORT (port for the
# throwaway server), ECMO_TEST_STEPS (default "ruff format mypy lint pytest noqt": run only some steps),
# CI=true (PostgreSQL is then required, and a run that collects no test at all fails).
set -euo pipefail

t_start=$(date +%s%N)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup_env.sh
source scripts/setup_env.sh

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
fmt_ms() {
    local ms=$1
    if [ "$ms" -ge 60000 ]; then
        printf '%dm%02ds' $((ms / 60000)) $((ms % 60000 / 1000))
    else
        printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100))
    fi
}
say() { printf 'test.sh: %s\n' "$*" >&2; }

is_ci() { [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; }

ecmo_setup test
setup_ms=$(ms_since "$t_start")

export QT_QPA_PLATFORM=offscreen
export PYTHONFAULTHANDLER=1
work="$(mktemp -d "${TMPDIR:-/tmp}/ecmo-test.XXXXXX")"
# The app's data folder (settings, logs, default database) — never the developer's real one.
export ECMO_DATA_DIR="${ECMO_DATA_DIR:-$work/data}"

pg_dir=""
cleanup() {
    local rc=$?
    if [ -n "$pg_dir" ]; then
        bash scripts/pg_test_server.sh stop "$pg_dir" || true
    fi
    if declare -F stop_private_cups >/dev/null; then stop_private_cups; fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL -------------------------------------------------------------------------------
pg_note=""
if [ -n "${ECMO_TEST_PG_URL:-}" ]; then
    pg_note="PostgreSQL: $ECMO_TEST_PG_URL (given)"
elif bash scripts/pg_test_server.sh find-bin >/dev/null 2>&1; then
    t=$(date +%s%N)
    # Made here, so the trap removes it even if the start is interrupted. As root the server runs
    # as `postgres`, which cannot enter a private TMPDIR: then it goes in /tmp.
    pg_base="${TMPDIR:-/tmp}"
    [ "$(id -u)" -eq 0 ] && pg_base=/tmp
    pg_dir="$(mktemp -d "$pg_base/ecmo-test-pg.XXXXXX")"
    pg_env="$(bash scripts/pg_test_server.sh start "$pg_dir")" || {
        say "ERROR: could not start the test PostgreSQL server"
        exit 1
    }
    eval "$pg_env"
    export ECMO_TEST_PG_URL
    pg_note="PostgreSQL: $ECMO_TEST_PG_URL (throwaway server, started in $(fmt_ms "$(ms_since "$t")"))"
elif is_ci; then
    say "ERROR: CI needs PostgreSQL, and no server binaries could be installed (apt-get install postgresql)"
    exit 1
else
    pg_note="PostgreSQL: none (no server binaries) — running the SQLite backend only"
    say "WARNING: no PostgreSQL server binaries; the PostgreSQL backend tests will not run"
fi
say "$pg_note"

# --- a private CUPS server with the test queue -------------------------------------------------
# The tests never touch the system's CUPS: their own cupsd runs from a temporary folder, listens
# only on a socket there (CUPS_SERVER points the CUPS tools and Qt at it), gets the ECMO-PDF queue,
# and is stopped and removed on exit. As root the queue is a real CUPS-PDF printer (its backend
# runs only under root), writing to ~/PDF; as another user it is a queue whose backend files the
# PDF the application sent in a folder inside that temporary folder.
printer_note=""
cups_dir=""
cups_pid=""
stop_private_cups() {
    if [ -n "$cups_pid" ]; then
        kill "$cups_pid" 2>/dev/null || true
        wait "$cups_pid" 2>/dev/null || true
    fi
    if [ -n "$cups_dir" ]; then rm -rf "$cups_dir"; fi
    cups_pid="" cups_dir=""
    return 0
}
start_private_cups() {
    local queue=ECMO-PDF sock model ppd i serverbin="" user_lines="" device outdir kind
    if ! command -v cupsd >/dev/null 2>&1 || ! command -v lpadmin >/dev/null 2>&1 ||
        ! command -v lpstat >/dev/null 2>&1; then
        printer_note="printer: CUPS not installed — the print test will skip"
        return 0
    fi
    # As root, CUPS runs its filters as `lp`, which cannot enter a private TMPDIR: then /tmp.
    local base="${TMPDIR:-/tmp}"
    [ "$(id -u)" -eq 0 ] && base=/tmp
    cups_dir="$(mktemp -d "$base/ecmo-test-cups.XXXXXX")"
    chmod 755 "$cups_dir"
    mkdir "$cups_dir/conf" "$cups_dir/spool" "$cups_dir/cache" "$cups_dir/state" "$cups_dir/log" "$cups_dir/tmp"
    chmod 1770 "$cups_dir/tmp"
    sock="$cups_dir/cups.sock"
    if [ "$(id -u)" -eq 0 ]; then
        chgrp lp "$cups_dir/tmp" 2>/dev/null || chmod 1777 "$cups_dir/tmp"
        device="cups-pdf:/"
        outdir="$(getent passwd "$(id -un)" | cut -d: -f6)/PDF"
        kind=CUPS-PDF
    else
        # Not root: cupsd runs as this user, with the system's filters and a backend of our own
        # (cups-pdf's is root-only) that files each job's PDF in $cups_dir/pdf.
        user_lines="User $(id -un)
Group $(id -gn)"
        serverbin="$cups_dir/bin"
        mkdir -p "$serverbin/backend" "$cups_dir/pdf"
        for i in /usr/lib/cups/*; do
            [ "$(basename "$i")" = backend ] || ln -s "$i" "$serverbin/"
        done
        cat >"$serverbin/backend/ecmo-pdf" <<'BACKEND'
#!/bin/sh
# CUPS backend of the test queue: job-id user title copies options [file] -> DIR/TITLE-job_ID.pdf
if [ $# -eq 0 ]; then
    echo 'file ecmo-pdf "Unknown" "ECMO Ward test PDF queue"'
    exit 0
fi
dir="${DEVICE_URI#ecmo-pdf:}"
name="$(printf '%s' "$3" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-60)"
if [ -n "$6" ]; then cat "$6"; else cat; fi >"$dir/${name:-job}-job_$1.pdf" || exit 1
exit 0
BACKEND
        chmod 755 "$serverbin/backend/ecmo-pdf"
        device="ecmo-pdf:$cups_dir/pdf"
        outdir="$cups_dir/pdf"
        kind="PDF backend"
    fi
    cat >"$cups_dir/conf/cupsd.conf" <<CONF
Listen $sock
Browsing No
WebInterface No
LogLevel warn
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
CONF
    cat >"$cups_dir/conf/cups-files.conf" <<CONF
ServerRoot $cups_dir/conf
RequestRoot $cups_dir/spool
CacheDir $cups_dir/cache
StateDir $cups_dir/state
TempDir $cups_dir/tmp
ErrorLog $cups_dir/log/error_log
AccessLog $cups_dir/log/access_log
PageLog $cups_dir/log/page_log
${serverbin:+ServerBin $serverbin}
$user_lines
CONF
    # Job numbers go into CUPS-PDF's file names (TITLE-job_N.pdf in ~/PDF): a new server would count
    # from 1 again and reuse the names of earlier runs' files, so it counts on from the clock.
    printf 'NextJobId %s\n' "$(($(date +%s) % 1000000000))" >"$cups_dir/cache/job.cache"
    cupsd -f -c "$cups_dir/conf/cupsd.conf" -s "$cups_dir/conf/cups-files.conf" >"$cups_dir/log/cupsd.out" 2>&1 &
    cups_pid=$!
    for i in $(seq 1 40); do
        CUPS_SERVER="$sock" lpstat -r >/dev/null 2>&1 && break
        kill -0 "$cups_pid" 2>/dev/null || break
        sleep 0.25
    done
    if ! CUPS_SERVER="$sock" lpstat -r >/dev/null 2>&1; then
        printer_note="printer: the private cupsd did not start ($(cat "$cups_dir/log/cupsd.out" "$cups_dir/log/error_log" 2>/dev/null | grep -v '^[DW] ' | tail -n 2 | tr '\n' ' ')) — the print test will skip"
        stop_private_cups
        return 0
    fi
    export CUPS_SERVER="$sock"
    if [ "$(id -u)" -eq 0 ]; then
        model="$(lpinfo -m 2>/dev/null | awk '/CUPS-PDF_opt\.ppd/ && !m {m = $1} END {print m}' || true)"
        # lpinfo asks cups-driverd, which can time out on a loaded machine: the PPD file itself will do
        ppd="$(find /usr/share/ppd /usr/share/cups/model -iname 'CUPS-PDF*.ppd' 2>/dev/null | sort | tail -n 1 || true)"
        if [ -n "$model" ]; then
            lpadmin -p "$queue" -E -v "$device" -m "$model" >/dev/null 2>&1 || true
        elif [ -n "$ppd" ]; then
            lpadmin -p "$queue" -E -v "$device" -P "$ppd" >/dev/null 2>&1 || true
        else
            printer_note="printer: CUPS-PDF not installed (printer-driver-cups-pdf) — the print test will skip"
            return 0
        fi
    else
        lpadmin -p "$queue" -E -v "$device" >/dev/null 2>&1 || true
    fi
    local state accepting
    state="$(LC_ALL=C lpstat -p "$queue" 2>/dev/null || true)"
    accepting="$(LC_ALL=C lpstat -a "$queue" 2>/dev/null || true)"
    if [[ "$state" == *enabled* && "$accepting" == *accepting* ]]; then
        export ECMO_TEST_PRINTER="$queue"
        export ECMO_TEST_PRINTER_OUTDIR="$outdir"
        printer_note="printer: $queue on a private cupsd ($kind, output in $outdir)"
    else
        printer_note="printer: could not set up the $queue queue — the print test will skip"
    fi
}
start_private_cups
say "$printer_note"

# --- the steps --------------------------------------------------------------------------------
steps="${ECMO_TEST_STEPS:-ruff format mypy lint pytest noqt}"
summary=()
failed=""
pytest_ran=0      # pytest runs that collected at least one test
pytest_empty=0    # pytest runs that collected nothing (exit code 5)

existing() {
    local p
    for p in "$@"; do [ -e "$p" ] && printf '%s\n' "$p"; done
    return 0
}

# run_step NAME CMD... — run, time and record one step; pytest's closing line goes in the summary.
run_step() {
    local name="$1" t rc out line
    shift
    printf '\n=== %s: %s\n' "$name" "$*"
    t=$(date +%s%N)
    out="$work/$name.out"
    set +e
    "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    set -e
    line="$(grep -E '^=*[ ]*[0-9]+ (passed|failed|error|errors|skipped|deselected|xfailed|xpassed)|no tests ran' "$out" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//' || true)"
    local status=ok
    case "$name" in
    pytest*)
        if [ "$rc" -eq 5 ]; then
            status="no tests collected"
            pytest_empty=$((pytest_empty + 1))
            rc=0
        elif [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
            pytest_ran=$((pytest_ran + 1))
        fi
        ;;
    esac
    [ "$rc" -ne 0 ] && status="FAILED (exit $rc)"
    summary+=("$(printf '  %-11s %-20s %8s  %s' "$name" "$status" "$(fmt_ms "$(ms_since "$t")")" "$line")")
    [ "$rc" -eq 0 ] || failed="$name"
    return 0
}

# Known defect (see the closing note of issue 9): now and then PySide6's worker thread segfaults in a
# UI test after many others ran in the same xdist worker. A test whose *worker crashed* — never one that
# failed — is run once more in a fresh process; the summary names it either way. Only when every failure
# of the run was such a crash and each passes alone does the step count as passed.
rerun_crashed() {
    local out="$work/pytest.out" crashed failures
    [ "$failed" = pytest ] || return 0
    mapfile -t crashed < <(sed -nE "s/.*worker '[^']+' crashed while running '([^']+)'.*/\1/p" "$out" | sort -u)
    [ ${#crashed[@]} -gt 0 ] || return 0
    failures="$(grep -E '^FAILED |^ERROR ' "$out" | grep -vc "worker 'gw" || true)"
    if [ "$failures" -ne 0 ]; then
        say "WARNING: worker crash in ${crashed[*]} (not rerun: other tests failed too)"
        return 0
    fi
    say "WARNING: a worker crashed (PySide6 segfault, known defect) in: ${crashed[*]} — running it once more alone"
    failed=""
    run_step pytest-crash-rerun .venv/bin/pytest -p no:cacheprovider -q "${color[@]}" "${crashed[@]}"
    summary+=("  (the pytest step's worker crashed in ${crashed[*]}; see the rerun above)")
}

color=()
[ -t 1 ] && color=(--color=yes)

for step in $steps; do
    [ -n "$failed" ] && break
    case "$step" in
    ruff)
        mapfile -t paths < <(existing ecmo_desktop tests benchmarks)
        run_step ruff .venv/bin/ruff check "${paths[@]}"
        ;;
    format)
        mapfile -t paths < <(existing ecmo_desktop tests benchmarks scripts)
        run_step format .venv/bin/ruff format --check "${paths[@]}"
        ;;
    mypy)
        # pyproject.toml [tool.mypy]: all of ecmo_desktop, strict on domain, services and storage
        run_step mypy .venv/bin/mypy
        ;;
    lint)
        run_step lint .venv/bin/lint-imports
        ;;
    pytest)
        # a crashed worker ends the run at once with its test named (xdist's replacement worker can leave
        # the run waiting forever under --dist loadgroup)
        if [ $# -gt 0 ]; then
            run_step pytest .venv/bin/pytest -p no:cacheprovider -q -n 2 --max-worker-restart=4 \
                "${color[@]}" "$@"
        else
            run_step pytest .venv/bin/pytest -p no:cacheprovider -q -n 2 --max-worker-restart=4 "${color[@]}"
        fi
        rerun_crashed
        ;;
    noqt)
        mapfile -t paths < <(existing tests/unit tests/storage tests/services)
        if [ ${#paths[@]} -eq 0 ]; then
            summary+=("  noqt        skipped (no tests/unit, tests/storage or tests/services)")
        else
            # pytest-qt imports PySide6 when it loads, so it is switched off too.
            run_step pytest-noqt env ECMO_TEST_BACKENDS=sqlite .venv/bin/pytest -p no:cacheprovider -p no:pytest-qt -q -n 2 --no-qt "${color[@]}" "${paths[@]}"
        fi
        ;;
    *)
        say "ERROR: unknown step '$step' in ECMO_TEST_STEPS (ruff format mypy lint pytest noqt)"
        exit 2
        ;;
    esac
done

if [ -z "$failed" ] && [ "$pytest_ran" -eq 0 ] && [ "$pytest_empty" -gt 0 ]; then
    if is_ci; then
        failed="pytest (the whole suite collected no test)"
    else
        say "WARNING: pytest collected no test at all"
    fi
fi

printf '\n=== summary\n'
printf '  %-11s %-20s %8s\n' setup ok "$(fmt_ms "$setup_ms")"
printf '%s\n' "${summary[@]}"
printf '  %s\n  %s\n' "$pg_note" "$printer_note"
if [ -n "$failed" ]; then
    printf 'test.sh: FAILED at %s — total %s\n' "$failed" "$(fmt_ms "$(ms_since "$t_start")")"
    exit 1
fi
printf 'test.sh: all steps passed — total %s\n' "$(fmt_ms "$(ms_since "$t_start")")"
