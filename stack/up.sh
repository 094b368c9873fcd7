#!/usr/bin/env bash
# Starts the local stack, idempotently: PostgreSQL, Redis, ScanCode.io (web + RQ worker), the demo
# inputs file server, the FossID and PurlDB sandboxes, and the Airflow components.
# Everything binds 127.0.0.1; every process is its own process group with its PID in $RUN_DIR/pids.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PIDS="$RUN_DIR/pids"; LOGS="$RUN_DIR/logs"
# The run folder holds secrets (scio.env, secrets.env) and results: private to this user, one mode.
umask 077
mkdir -p "$RUN_DIR" && chmod 700 "$RUN_DIR"
mkdir -p "$PIDS" "$LOGS" "$RUN_DIR/scio/workspace" "$RUN_DIR/scio/static" "$SCA_RESULTS_DIR" "$AIRFLOW_HOME"
[ -f "$AIRFLOW_VENV/.complete" ] && [ -f "$SCIO_VENV/.complete" ] || die "venvs missing: run 'make setup' first"

start_bg() {  # name command...: start a server in its own session (PID == PGID), unless it runs
  local name=$1; shift
  if pid_alive "$PIDS/$name.pid"; then return 0; fi
  if [ -f "$PIDS/$name.pid" ]; then  # its leader died (SIGKILL): what is left of its session goes too
    local old left; old=$(cat "$PIDS/$name.pid")
    left=$(ps -eo pid=,sid=,stat= | awk -v s="$old" '$2 == s && $3 !~ /^Z/ {print $1}')
    if [ -n "$left" ]; then
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null || true
      log "killed $(echo $left | wc -w) process(es) left by $name (pid $old), which died"
    fi
  fi
  SCA_STACK_ID="$STACK_ID" setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
  echo $! >>"$PIDS/sessions"
  log "started $name (pid $!)"
}

# The Airflow components run under stack/supervise.sh, which starts one again when it crashes
# (the scheduler exits when PostgreSQL makes it a deadlock's victim), as docker-compose.yaml's
# `restart: always` does. NAME.pid names the supervisor (the session leader), NAME.child the
# component's own process.
start_supervised() {  # name command...
  local name=$1; shift
  start_bg "$name" bash "$ROOT/stack/supervise.sh" "$PIDS/$name.child" "$@"
}

ensure_secrets() {
  ensure_base_secrets
  # Added after the first release: a run folder from before it gets the line appended.
  if ! grep -q '^export SCA_WEBHOOK_SECRET=' "$RUN_DIR/secrets.env"; then
    local hook
    hook=$("$AIRFLOW_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
    (umask 077; echo "export SCA_WEBHOOK_SECRET='$hook'" >>"$RUN_DIR/secrets.env")
  fi
  # shellcheck disable=SC1091
  source "$RUN_DIR/secrets.env"
  export_webhooks_connection
}

ensure_base_secrets() {
  [ -f "$RUN_DIR/secrets.env" ] && return 0
  local fernet jwt django
  fernet=$("$AIRFLOW_VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
  jwt=$("$AIRFLOW_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(64))')
  django=$("$AIRFLOW_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')
  umask 077
  cat >"$RUN_DIR/secrets.env" <<SECRETS
export AIRFLOW__CORE__FERNET_KEY='$fernet'
export AIRFLOW__API_AUTH__JWT_SECRET='$jwt'
export SCA_SCIO_DJANGO_SECRET='$django'
SECRETS
  printf '{"%s": "%s"}\n' "$AIRFLOW_ADMIN_USER" "$AIRFLOW_ADMIN_PASSWORD" >"$RUN_DIR/airflow-passwords.json"
  # shellcheck disable=SC1091
  source "$RUN_DIR/secrets.env"
}

# --- PostgreSQL 15 -------------------------------------------------------------------------
# postgres refuses to run as root: as root we run it as the 'postgres' user, whose data folder
# must be reachable by that user, so it lives under /var/tmp rather than inside the checkout.
PG_BIN="$(dirname "$(command -v initdb 2>/dev/null || echo /usr/lib/postgresql/15/bin/initdb)")"
PG_DIR="${SCA_PG_DIR:-/var/tmp/sca-orchestrator-$(echo "$ROOT" | sha256sum | cut -c1-10)/pg}"
# From /: the postgres user may not be allowed into the checkout (a mktemp -d clone is mode 700).
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
psql_admin() { psql -h "$SCA_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

ensure_postgres() {
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    (umask 022; mkdir -p "$PG_DIR"); [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"  # its parent must be traversable by postgres
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w start \
      -o "-c listen_addresses=$SCA_HOST -p $PG_PORT -k $PG_DIR -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
    log "started PostgreSQL on $SCA_HOST:$PG_PORT (data $PG_DIR/data)"
  fi
  cp "$PG_DIR/data/postmaster.pid" "$PIDS/postgres.pid.info" 2>/dev/null || true
  head -1 "$PG_DIR/data/postmaster.pid" >"$PIDS/postgres.pid"
  echo "$PG_DIR" >"$RUN_DIR/pg_dir"
  local db
  for db in airflow sca scancodeio; do
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='$db'")" ]; then
      psql_admin -c "CREATE ROLE $db LOGIN PASSWORD '$db'"
    fi
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$db'")" ]; then
      psql_admin -c "CREATE DATABASE $db OWNER $db ENCODING 'UTF8'"
    fi
  done
}

# --- Redis ---------------------------------------------------------------------------------
ensure_redis() {
  start_bg redis redis-server --bind "$SCA_HOST" --port "$REDIS_PORT" --save '' --appendonly no \
    --protected-mode yes --daemonize no
}

# --- ScanCode.io ---------------------------------------------------------------------------
write_scio_env() {  # holds ScanCode.io's Django SECRET_KEY: mode 600
  touch "$RUN_DIR/scio.env" && chmod 600 "$RUN_DIR/scio.env"
  cat >"$RUN_DIR/scio.env" <<SCIOENV
export PATH="$SCIO_VENV/bin:/usr/bin:/bin"
export PYTHONPATH="$ROOT/stack/scio"
export DJANGO_SETTINGS_MODULE=scio_local.settings
export SECRET_KEY='$SCA_SCIO_DJANGO_SECRET'
export ALLOWED_HOSTS=127.0.0.1,localhost
export SCANCODEIO_DB_ENGINE=django.db.backends.postgresql
export SCANCODEIO_DB_HOST=$SCA_HOST SCANCODEIO_DB_PORT=$PG_PORT
export SCANCODEIO_DB_NAME=scancodeio SCANCODEIO_DB_USER=scancodeio SCANCODEIO_DB_PASSWORD=scancodeio
export SCANCODEIO_WORKSPACE_LOCATION="$RUN_DIR/scio/workspace"
export STATIC_ROOT="$RUN_DIR/scio/static"
export SCANCODEIO_REQUIRE_AUTHENTICATION=True
export SCANCODEIO_ASYNC=True
export SCANCODEIO_RQ_REDIS_HOST=$SCA_HOST SCANCODEIO_RQ_REDIS_PORT=$REDIS_PORT
export SCANCODEIO_POLICIES_FILE="$ROOT/stack/scio/policies.yml"
export SCANCODEIO_SITE_URL="http://$SCA_HOST:$SCIO_PORT/"
SCIOENV
}

scio() { (cd "$RUN_DIR/scio" && env -i HOME="$USER_HOME" SCA_SCIO_TOKEN="${SCA_SCIO_TOKEN:-}" SCA_SCIO_UI_PASSWORD="${SCA_SCIO_UI_PASSWORD:-}" bash -c "source '$RUN_DIR/scio.env' && exec \"\$@\"" scio "$@"); }

ensure_scancodeio() {
  write_scio_env
  local migrated="$SCIO_VENV $(files_key "$ROOT/stack/scio/install_token.py")"
  if [ ! -f "$RUN_DIR/scio/.migrated" ] || [ "$(cat "$RUN_DIR/scio/.migrated")" != "$migrated" ]; then
    log "migrating the ScanCode.io database"
    scio scanpipe migrate --no-input >"$LOGS/scio-migrate.log" 2>&1 || die "scanpipe migrate failed: see $LOGS/scio-migrate.log"
    SCA_SCIO_TOKEN="$SCIO_TOKEN" SCA_SCIO_UI_PASSWORD="$SCIO_UI_PASSWORD" scio scanpipe shell -c "$(cat "$ROOT/stack/scio/install_token.py")" \
      >>"$LOGS/scio-migrate.log" 2>&1 || die "installing the API token failed: see $LOGS/scio-migrate.log"
    echo "$migrated" >"$RUN_DIR/scio/.migrated"
  fi
  local in_scio="cd '$RUN_DIR/scio' && source '$RUN_DIR/scio.env' && exec"
  start_bg scio-worker env -i HOME="$USER_HOME" SCA_STACK_ID="$STACK_ID" bash -c "$in_scio scanpipe rqworker --worker-class scancodeio.worker.ScanCodeIOWorker --queue-class scancodeio.worker.ScanCodeIOQueue --verbosity 1"
  start_bg scio-web env -i HOME="$USER_HOME" SCA_STACK_ID="$STACK_ID" bash -c "$in_scio gunicorn scancodeio.wsgi:application --bind $SCA_HOST:$SCIO_PORT --workers 2 --threads 2 --timeout 600"
  start_bg scio-proxy env PYTHONPATH="$ROOT" "$AIRFLOW_VENV/bin/python" -m sandboxes.faultproxy \
    --listen-port "$SCIO_PROXY_PORT" --upstream "http://$SCA_HOST:$SCIO_PORT"
}

# --- Demo inputs file server, sandboxes ---------------------------------------------------------
ensure_inputs() {  # copies, not links: the fetch refuses paths that resolve outside the folder
  mkdir -p "$SCA_INPUTS_DIR"
  cp -p -u "$ROOT"/include/demo/* "$SCA_INPUTS_DIR/"
  if compgen -G "$CACHE_DIR/demo-packages/*" >/dev/null; then cp -p -u "$CACHE_DIR"/demo-packages/* "$SCA_INPUTS_DIR/"; fi
}

ensure_inputs_server() {
  start_bg inputs "$AIRFLOW_VENV/bin/python" -m http.server "$INPUTS_PORT" --bind "$SCA_HOST" --directory "$SCA_INPUTS_DIR"
}

ensure_sandboxes() {
  local fossid_key purldb_token seed_files index
  fossid_key=$(json_field "$AIRFLOW_CONN_FOSSID_DEFAULT" password)
  purldb_token=$(json_field "$AIRFLOW_CONN_PURLDB_DEFAULT" password)
  # Credentials go through the environment, not the command line (which any user can read).
  start_bg fossid-sandbox env PYTHONPATH="$ROOT" SCA_FOSSID_KEY="$fossid_key" "$AIRFLOW_VENV/bin/python" \
    -m sandboxes.fossid --host "$SCA_HOST" --port "$FOSSID_PORT" --state-dir "$RUN_DIR/fossid-sandbox"

  # The PurlDB index is real data: the seed archives scanned with scancode-toolkit (about 25 s),
  # cached by the archives' hash.
  mapfile -t seed_files < <(grep -v '^#' "$ROOT/include/purldb-seed.txt" | sed "s#^#$SCA_INPUTS_DIR/#")
  local metadata="$ROOT/include/purldb-metadata-packages.json"
  index="$RUN_DIR/purldb-index-$(files_key "${seed_files[@]}" "$metadata" "$ROOT/sandboxes/purldb/seed.py").json"
  if [ ! -f "$index" ]; then
    log "seeding the PurlDB sandbox index from ${#seed_files[@]} archives with scancode-toolkit"
    PYTHONPATH="$ROOT" "$AIRFLOW_VENV/bin/python" -m sandboxes.purldb.seed --out "$index" \
      --download-base-url "$SCA_INPUTS_BASE_URL" --metadata "$metadata" "${seed_files[@]}" >>"$LOGS/purldb-seed.log" 2>&1 \
      || die "seeding PurlDB failed: see $LOGS/purldb-seed.log"
  fi
  start_bg purldb-sandbox env PYTHONPATH="$ROOT" SCA_PURLDB_TOKEN="$purldb_token" "$AIRFLOW_VENV/bin/python" \
    -m sandboxes.purldb --host "$SCA_HOST" --port "$PURLDB_PORT" --index "$index"
}

json_field() { "$AIRFLOW_VENV/bin/python" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# --- Airflow -------------------------------------------------------------------------------
ensure_airflow() {
  mkdir -p "$AIRFLOW__CORE__PLUGINS_FOLDER"  # empty: our code is the installed package
  if [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
    log "migrating the Airflow metadata database"
    airflow db migrate >"$LOGS/airflow-migrate.log" 2>&1 || die "airflow db migrate failed: see $LOGS/airflow-migrate.log"
    touch "$AIRFLOW_HOME/.migrated"
  fi
  ensure_pools
  ensure_executor
  restart_airflow_after_install
  start_supervised airflow-api-server airflow api-server
  start_supervised airflow-scheduler airflow scheduler --skip-serve-logs
  start_supervised airflow-dag-processor airflow dag-processor
  start_supervised airflow-triggerer airflow triggerer --skip-serve-logs
  if [ "$SCA_EXECUTOR" = celery ]; then start_celery_workers; fi
}

# A stack started with another executor (SCA_EXECUTOR) has its Airflow components restarted with
# this one; running tasks of the old executor are stopped with them (their retries run on the new).
ensure_executor() {
  local previous
  previous=$(cat "$RUN_DIR/executor" 2>/dev/null || echo "$SCA_EXECUTOR")
  if [ "$previous" != "$SCA_EXECUTOR" ]; then
    stop_airflow "switching the Airflow executor from $previous to $SCA_EXECUTOR"
  fi
  echo "$SCA_EXECUTOR" >"$RUN_DIR/executor"
}

# SCA_CELERY_WORKERS named workers (default 2) of SCA_CELERY_CONCURRENCY slots each (default 4),
# like separate hosts: they share only the broker, the Execution API and the artefact store. Their
# log servers stay off (they bind every interface); the task logs are files the api-server reads.
start_celery_workers() {
  local count=${SCA_CELERY_WORKERS:-2} i name
  for i in $(seq 1 "$count"); do
    name="worker-$i"
    start_supervised "airflow-celery-$name" env SCA_WORKER_NAME="$name" airflow celery worker \
      --celery-hostname "$name@%h" --concurrency "${SCA_CELERY_CONCURRENCY:-4}" --skip-serve-logs \
      --pid "$RUN_DIR/airflow-celery-$name.pid"
  done
  # Workers beyond the count (a smaller SCA_CELERY_WORKERS than last time) are stopped.
  for pidf in "$PIDS"/airflow-celery-worker-*.pid; do
    [ -e "$pidf" ] || continue
    i=${pidf##*-}; i=${i%.pid}
    [ "$i" -le "$count" ] || stop_group "$pidf"
  done
}

# One pool per service bounds the submissions to it (sizes: SCA_POOL_SCANCODEIO/_PURLDB/_FOSSID).
ensure_pools() {
  local pools="$RUN_DIR/pools.json"
  cat >"$pools.new" <<JSON
{
  "scancodeio": {"slots": ${SCA_POOL_SCANCODEIO:-4}, "description": "tasks that call ScanCode.io", "include_deferred": false},
  "purldb": {"slots": ${SCA_POOL_PURLDB:-4}, "description": "tasks that call PurlDB", "include_deferred": false},
  "fossid": {"slots": ${SCA_POOL_FOSSID:-4}, "description": "tasks that call FossID Workbench", "include_deferred": false}
}
JSON
  if ! cmp -s "$pools" "$pools.new"; then
    log "setting the service pools (scancodeio, purldb, fossid)"
    airflow pools import "$pools.new" >>"$LOGS/airflow-migrate.log" 2>&1 || die "airflow pools import failed: see $LOGS/airflow-migrate.log"
    mv "$pools.new" "$pools"
  else
    rm -f "$pools.new"
  fi
}

# The project is an Airflow provider package (pyproject.toml; code under plugins/sca): this
# checkout is built and installed into the venv, so every component imports the installed
# package, never the working tree through PYTHONPATH. The venv is shared by the checkouts on this
# machine with the same requirements: the install is skipped when the venv already holds this
# exact code (a stamp of its sources), so a `make up` of an unchanged checkout never removes the
# package under running tasks; a lock keeps two checkouts from installing at once.
ensure_package() {
  local sources stamp="$AIRFLOW_VENV/.sca-package-sources" build
  sources=$(cd "$ROOT" && { cat pyproject.toml; find plugins/sca -type f \( -name '*.py' -o -name '*.sql' \) | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
  exec 9>"$AIRFLOW_VENV/.sca-package.lock"
  flock 9
  if [ "$(cat "$stamp" 2>/dev/null)" = "$sources" ] && "$AIRFLOW_VENV/bin/python" -c "import sca.provider" 2>/dev/null; then
    flock -u 9
    return 0
  fi
  build=$(mktemp -d)
  log "installing this checkout as the sca-orchestrator provider package"
  rm -rf "$ROOT/build" "$ROOT/plugins/sca_orchestrator.egg-info"  # a stale build/ would end up in the wheel
  { "$AIRFLOW_VENV/bin/pip" wheel -q --no-deps --disable-pip-version-check -w "$build" "$ROOT" \
      && "$AIRFLOW_VENV/bin/pip" install -q --no-deps --force-reinstall --disable-pip-version-check "$build"/sca_orchestrator-*.whl; } \
    >>"$LOGS/package.log" 2>&1 || { rm -rf "$build"; flock -u 9; die "building or installing the package failed: see $LOGS/package.log"; }
  rm -rf "$build" "$ROOT/build" "$ROOT/plugins/sca_orchestrator.egg-info"
  echo "$sources" >"$stamp"
  flock -u 9
  PACKAGE_CHANGED=1
}

# Running Airflow components keep the modules they imported before a new package was installed
# and import the rest from the new one: a triggerer then failed with "cannot import name
# 'until_deadline' from 'sca.common.polling'". After an install they are restarted (as any
# deployment restarts them); their running tasks are retried and re-attach to their remote work.
restart_airflow_after_install() {
  if [ "${PACKAGE_CHANGED:-0}" = 1 ]; then stop_airflow "the package changed"; fi
}

# Stops every Airflow component this stack started (Celery workers first), saying why once;
# ensure_airflow then starts them again.
stop_airflow() {  # reason
  local pidf said=0
  for pidf in "$PIDS"/airflow-celery-*.pid "$PIDS"/airflow-scheduler.pid "$PIDS"/airflow-triggerer.pid \
              "$PIDS"/airflow-dag-processor.pid "$PIDS"/airflow-api-server.pid; do
    [ -f "$pidf" ] || continue
    [ $said = 1 ] || log "$1: restarting the Airflow components"
    said=1
    stop_group "$pidf"
  done
}

# The ledger and results warehouse in the sca database (idempotent: applied versions are skipped).
ensure_warehouse() {
  "$AIRFLOW_VENV/bin/python" -m sca.store.migrate >>"$LOGS/warehouse-migrate.log" 2>&1 \
    || die "warehouse migrations failed: see $LOGS/warehouse-migrate.log"
}

wait_ready() {
  wait_http "http://$SCA_HOST:$SCIO_PORT/api/" 120 -H "Authorization: Token $SCIO_TOKEN" \
    || die "ScanCode.io did not answer on $SCA_HOST:$SCIO_PORT: see $LOGS/scio-web.log"
  wait_http "http://$SCA_HOST:$SCIO_PROXY_PORT/_faultproxy/faults" 30 || die "the ScanCode.io fault proxy did not answer: see $LOGS/scio-proxy.log"
  wait_http "http://$SCA_HOST:$INPUTS_PORT/" 30 || die "inputs server did not answer: see $LOGS/inputs.log"
  [ -f "$PIDS/fossid-sandbox.pid" ] && { wait_http "http://$SCA_HOST:$FOSSID_PORT/index.php?form=login" 30 || die "FossID sandbox did not answer: see $LOGS/fossid-sandbox.log"; }
  [ -f "$PIDS/purldb-sandbox.pid" ] && { wait_http "http://$SCA_HOST:$PURLDB_PORT/_sandbox/config" 30 || die "PurlDB sandbox did not answer: see $LOGS/purldb-sandbox.log"; }
  local deadline=$((SECONDS + 180)) health=""
  while [ $SECONDS -lt $deadline ]; do
    health=$(curl -sf "http://$SCA_HOST:$AIRFLOW_PORT/api/v2/monitor/health" || true)
    if [ -n "$health" ] && "$AIRFLOW_VENV/bin/python" - "$health" <<'PY'
import json, sys
h = json.loads(sys.argv[1])
parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
raise SystemExit(0 if all((h.get(p) or {}).get("status") == "healthy" for p in parts) else 1)
PY
    then break; fi
    sleep 1
  done
  [ $SECONDS -lt $deadline ] || die "Airflow is not healthy after 180 s ($health): see $LOGS/airflow-*.log"
  if [ "$SCA_EXECUTOR" = celery ]; then wait_celery_workers; fi
}

wait_celery_workers() {  # every named worker answers a ping through the broker
  "$AIRFLOW_VENV/bin/python" - "${SCA_CELERY_WORKERS:-2}" <<'PY' || die "the Celery workers did not answer: see $LOGS/airflow-celery-*.log"
import sys, time
from airflow.providers.celery.executors.celery_executor import app
wanted = {f"worker-{i}" for i in range(1, int(sys.argv[1]) + 1)}
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    answered = {name.split("@", 1)[0] for reply in app.control.ping(timeout=2) for name in reply}
    if wanted <= answered:
        raise SystemExit(0)
    time.sleep(1)
print(f"no answer from {sorted(wanted - answered)}", file=sys.stderr)
raise SystemExit(1)
PY
}

ensure_secrets
ensure_package
ensure_postgres
ensure_redis
ensure_warehouse
ensure_scancodeio
ensure_inputs
ensure_inputs_server
ensure_sandboxes
ensure_airflow
wait_ready
log "stack is up: ScanCode.io http://$SCA_HOST:$SCIO_PORT/  Airflow http://$SCA_HOST:$AIRFLOW_PORT/  (logs in $LOGS)"
