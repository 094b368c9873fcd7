#!/usr/bin/env bash
# Stops every process of the local stack by the PID recorded at start (each PID leads its own
# process group, so its children go with it), then PostgreSQL with pg_ctl. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PIDS="$RUN_DIR/pids"
[ -d "$PIDS" ] || exit 0

stop_group() {  # pidfile
  local pidf=$1 pid name; pid=$(cat "$pidf"); name=$(basename "$pidf" .pid)
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
    # Whatever is left of the group (LocalExecutor workers, gunicorn workers) is killed.
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidf"
}

# Airflow first (it talks to the others), then services, then the database.
for name in airflow-scheduler airflow-triggerer airflow-dag-processor airflow-api-server \
            fossid-sandbox purldb-sandbox inputs scio-web scio-worker redis; do
  [ -f "$PIDS/$name.pid" ] && stop_group "$PIDS/$name.pid"
done
for pidf in "$PIDS"/*.pid; do
  [ -e "$pidf" ] || continue
  [ "$(basename "$pidf")" = postgres.pid ] && continue
  stop_group "$pidf"
done

if [ -f "$RUN_DIR/pg_dir" ]; then
  PG_DIR=$(cat "$RUN_DIR/pg_dir")
  PG_BIN="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /usr/lib/postgresql/15/bin/pg_ctl)")"
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null)
    else "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; fi
    log "stopped PostgreSQL"
  fi
  rm -f "$PIDS/postgres.pid" "$PIDS/postgres.pid.info"
fi
