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
AIRFLOW_PORT="${SCA_AIRFLOW_PORT:-8080}"
FOSSID_PORT="${SCA_FOSSID_PORT:-8011}"
PURLDB_PORT="${SCA_PURLDB_PORT:-8012}"
INPUTS_PORT="${SCA_INPUTS_PORT:-8765}"

# Known, local-only credentials. Production uses its own through AIRFLOW_CONN_* or a secrets backend.
SCIO_TOKEN="${SCA_SCIO_TOKEN:-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}"
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

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_http() {  # url timeout_seconds [curl args...]
  local url=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until curl -sf -o /dev/null "$@" "$url"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}
