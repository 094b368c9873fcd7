# Shared settings for the stack scripts. Source it; do not run it.
# Every port binds 127.0.0.1. Every knob can be overridden from the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${SCA_RUN_DIR:-$ROOT/.run}"
USER_HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
CACHE_DIR="${SCA_CACHE_DIR:-${XDG_CACHE_HOME:-$USER_HOME/.cache}/sca-orchestrator}"

SCA_HOST=127.0.0.1
PG_PORT="${SCA_PG_PORT:-55440}"
REDIS_PORT="${SCA_REDIS_PORT:-56390}"
SCIO_PORT="${SCA_SCIO_PORT:-8001}"
# Airflow reaches ScanCode.io through our fault proxy (sandboxes/faultproxy): a pass-through until
# a test or the fault drill turns faults on (POST /_faultproxy/faults).
SCIO_PROXY_PORT="${SCA_SCIO_PROXY_PORT:-8002}"
AIRFLOW_PORT="${SCA_AIRFLOW_PORT:-8080}"
FOSSID_PORT="${SCA_FOSSID_PORT:-8011}"
PURLDB_PORT="${SCA_PURLDB_PORT:-8012}"
INPUTS_PORT="${SCA_INPUTS_PORT:-8765}"

# Known, local-only credentials. Production uses its own through AIRFLOW_CONN_* or a secrets backend.
SCIO_TOKEN="${SCA_SCIO_TOKEN:-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}"
# The ScanCode.io web UI's login for the same user "airflow" (the API uses the token).
SCIO_UI_PASSWORD="${SCA_SCIO_UI_PASSWORD:-scio-local-only}"
AIRFLOW_ADMIN_USER=admin
AIRFLOW_ADMIN_PASSWORD="${SCA_AIRFLOW_ADMIN_PASSWORD:-admin-local-only}"

SCA_PYTHON_VERSION=3.12

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_python312() {
  local candidate
  for candidate in "${SCA_PYTHON:-}" "$(command -v python3.12 2>/dev/null || true)" \
      "$(pyenv root 2>/dev/null || echo "$USER_HOME/.pyenv")"/versions/3.12.*/bin/python3; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" -c 'import sys; raise SystemExit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  die "Python 3.12 not found. Install it (e.g. 'pyenv install 3.12' or 'apt-get install python3.12') or set SCA_PYTHON=/path/to/python3.12."
}

# A cache key that changes when any of the given files changes.
files_key() { cat "$@" | sha256sum | cut -c1-12; }

AIRFLOW_VENV="$CACHE_DIR/venv-airflow-$(files_key "$ROOT/requirements.txt" "$ROOT/requirements.lock")"
SCIO_VENV="$CACHE_DIR/venv-scancodeio-$(files_key "$ROOT/stack/scio/requirements-scio.txt" "$ROOT/stack/scio/requirements-scio.lock")"
# purldb-toolkit (a third-party PurlDB client) for a contract test; nothing of the product uses it.
PURLCLI_VENV="$CACHE_DIR/venv-purlcli-$(files_key "$ROOT/stack/thirdparty/requirements-purlcli.txt")"

pid_alive() {  # a zombie (killed, not yet reaped by an init that does not reap) is not alive
  [ -f "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# Every process the stack starts leads its own session (setsid), and the session ids are kept in
# $RUN_DIR/pids/sessions. Children stay in their session when their parent dies (LocalExecutor
# workers and task processes after a SIGKILLed scheduler, RQ work-horses, gunicorn workers), so
# `make down` finds them by session even when the PID file that named their leader is gone or was
# overwritten by a later `make up`. They also carry SCA_STACK_ID in their environment (read where
# a process has not overwritten it with its title). A session id alone could be a reused PID, so a
# process must also look like ours (its command line names this checkout, our venvs or a server
# we start).
STACK_ID="$(echo "$RUN_DIR" | sha256sum | cut -c1-16)"
stack_pids() {  # PIDs of live processes of this stack, this shell excluded
  local sessions="$RUN_DIR/pids/sessions" pid sid args
  while read -r pid sid args; do
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qx "SCA_STACK_ID=$STACK_ID"; then
      echo "$pid"; continue
    fi
    if [ -f "$sessions" ] && grep -qx "$sid" "$sessions"; then
      case "$args" in
        *"$CACHE_DIR"*|*"$ROOT"*|airflow*|redis-server*|gunicorn*|rq:*|*scanpipe*|*python*) echo "$pid" ;;
      esac
    fi
  done < <(ps -eo pid=,sid=,args=)
}

stop_group() {  # pidfile: TERM the process group it names, wait, KILL what is left; drop the file
  local pidf=$1 pid name; pid=$(cat "$pidf"); name=$(basename "$pidf" .pid)
  if pid_alive "$pidf"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while pid_alive "$pidf" && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
    log "stopped $name (pid $pid)"
  fi
  # Whatever is left of the group (LocalExecutor workers, gunicorn workers) is killed, also when
  # the leader itself was SIGKILLed earlier and its workers outlived it.
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidf"
}

wait_http() {  # url timeout_seconds [curl args...]
  local url=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until curl -sf -o /dev/null "$@" "$url"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}
