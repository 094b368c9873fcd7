#!/usr/bin/env bash
# Stops every process of the local stack by the PID recorded at start (each PID leads its own
# process group, so its children go with it), then PostgreSQL with pg_ctl. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PIDS="$RUN_DIR/pids"
[ -d "$PIDS" ] || exit 0
# Sessions named by the PID files count too (a stack started before the sessions list existed).
cat "$PIDS"/*.pid 2>/dev/null >>"$PIDS/sessions" || true

# Airflow first (it talks to the others), then services, then the database.
for name in airflow-scheduler airflow-triggerer airflow-dag-processor airflow-api-server \
            $(cd "$PIDS" && ls airflow-celery-*.pid 2>/dev/null | sed 's/\.pid$//') \
            fossid-sandbox purldb-sandbox inputs scio-web scio-worker redis; do
  [ -f "$PIDS/$name.pid" ] && stop_group "$PIDS/$name.pid"
done
for pidf in "$PIDS"/*.pid; do
  [ -e "$pidf" ] || continue
  [ "$(basename "$pidf")" = postgres.pid ] && continue
  stop_group "$pidf"
done

# Last, anything still carrying this stack's id (children re-parented after a SIGKILL, or left by
# a PID file that a later `make up` overwrote): TERM, then KILL what ignores it.
mapfile -t left < <(stack_pids)
if [ ${#left[@]} -gt 0 ]; then
  log "stopping ${#left[@]} leftover process(es) of this stack: ${left[*]}"
  kill -TERM "${left[@]}" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ] && [ -n "$(stack_pids)" ]; do sleep 0.3; done
  mapfile -t left < <(stack_pids)
  if [ ${#left[@]} -gt 0 ]; then kill -KILL "${left[@]}" 2>/dev/null || true; fi
fi
rm -f "$PIDS/sessions"

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
