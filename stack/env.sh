# Environment for Airflow and the tests against the local stack. Source it (the Makefile does).
# Paths are absolute and derived from this checkout; secrets are generated once per run folder.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set +u

export PATH="$AIRFLOW_VENV/bin:$PATH"
export AIRFLOW_HOME="$RUN_DIR/airflow-home"
export AIRFLOW_CONFIG="$ROOT/airflow.cfg"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
# Our code is the installed provider package (stack/up.sh installs this checkout): no plugin
# files, and nothing of the working tree on Airflow's path.
export AIRFLOW__CORE__PLUGINS_FOLDER="$RUN_DIR/airflow-plugins"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$RUN_DIR/airflow-passwords.json"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow:airflow@$SCA_HOST:$PG_PORT/airflow"
export AIRFLOW__API__HOST="$SCA_HOST"
export AIRFLOW__API__PORT="$AIRFLOW_PORT"
export AIRFLOW__API__BASE_URL="http://$SCA_HOST:$AIRFLOW_PORT"
export SCA_AIRFLOW_USER="$AIRFLOW_ADMIN_USER" SCA_AIRFLOW_PASSWORD="$AIRFLOW_ADMIN_PASSWORD"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://$SCA_HOST:$AIRFLOW_PORT/execution/"

# The executor: LocalExecutor (default) or CeleryExecutor with SCA_EXECUTOR=celery (Redis broker,
# SCA_CELERY_WORKERS named workers). Without SCA_EXECUTOR, the one the stack was last started with.
SCA_EXECUTOR="${SCA_EXECUTOR:-$(cat "$RUN_DIR/executor" 2>/dev/null || echo local)}"
case "$SCA_EXECUTOR" in
  local) export AIRFLOW__CORE__EXECUTOR=LocalExecutor ;;
  celery)
    export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
    export AIRFLOW__CELERY__BROKER_URL="redis://$SCA_HOST:$REDIS_PORT/2"
    export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg2://airflow:airflow@$SCA_HOST:$PG_PORT/airflow"
    # Two workers on one machine share its host name: each reports its own name on the task
    # instances it runs (sca.common.hostname).
    export AIRFLOW__CORE__HOSTNAME_CALLABLE=sca.common.hostname.worker_hostname
    # A task unacknowledged this long is handed to another worker: longer than any task holds a
    # worker slot (the waits are deferred).
    export AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=21600
    ;;
  *) echo "SCA_EXECUTOR must be local or celery, not '$SCA_EXECUTOR'" >&2; return 1 2>/dev/null || exit 1 ;;
esac
export SCA_EXECUTOR

if [ -f "$RUN_DIR/secrets.env" ]; then
  # shellcheck disable=SC1091
  source "$RUN_DIR/secrets.env"
fi

# Where the DAGs find inputs given as paths, and where they write run folders.
# make up fills it with include/demo and the demo portfolio's downloaded packages.
export SCA_INPUTS_DIR="${SCA_INPUTS_DIR:-$RUN_DIR/inputs}"
export SCA_RESULTS_DIR="${SCA_RESULTS_DIR:-$RUN_DIR/results}"
# Every artefact (inputs, tool outputs, reports) lives under this root; s3:// or gs:// in production.
export SCA_ARTEFACT_ROOT="${SCA_ARTEFACT_ROOT:-file://$RUN_DIR/artefacts}"
export SCA_INPUTS_BASE_URL="http://$SCA_HOST:$INPUTS_PORT"

# Connections to the services. Production sets these (or a secrets backend) to the real servers.
# The local stack's services answer in well under a second: a 20 s request timeout lets the fault
# drill's stalls (past it) show what a hung server does. Production keeps the hooks' defaults.
export AIRFLOW_CONN_SCANCODEIO_DEFAULT="{\"conn_type\": \"scancodeio\", \"schema\": \"http\", \"host\": \"$SCA_HOST\", \"port\": $SCIO_PROXY_PORT, \"password\": \"$SCIO_TOKEN\", \"extra\": {\"timeout\": 20, \"ui_url\": \"http://$SCA_HOST:$SCIO_PORT\"}}"
export AIRFLOW_CONN_PURLDB_DEFAULT="{\"conn_type\": \"purldb\", \"schema\": \"http\", \"host\": \"$SCA_HOST\", \"port\": $PURLDB_PORT, \"password\": \"${SCA_PURLDB_TOKEN:-purldb-local-token}\", \"extra\": {\"timeout\": 20}}"
export AIRFLOW_CONN_FOSSID_DEFAULT="{\"conn_type\": \"fossid\", \"schema\": \"http\", \"host\": \"$SCA_HOST\", \"port\": $FOSSID_PORT, \"login\": \"sca-bot\", \"password\": \"${SCA_FOSSID_KEY:-fossid-local-key}\", \"extra\": {\"timeout\": 20}}"
export SCA_PURLCLI_VENV="$PURLCLI_VENV"  # tests/integration/test_purldb_third_party_client.py
export SCA_SCIO_DIRECT_URL="http://$SCA_HOST:$SCIO_PORT"
export SCA_SCIO_UI_USER=airflow SCA_SCIO_UI_PASSWORD="$SCIO_UI_PASSWORD"  # tests/e2e/test_ui_in_chromium.py
export AIRFLOW_CONN_SCA_RESULTS_DB="postgresql://sca:sca@$SCA_HOST:$PG_PORT/sca"
# Run-end webhooks (sca.hints): ScanCode.io posts to the API server's receiver; the secret signs
# each callback URL. SCA_WEBHOOKS=off leaves the connection out: the waits then only poll.
# (a function: make up calls it again once it has made the secret)
export_webhooks_connection() {
  if [ "${SCA_WEBHOOKS:-on}" = off ]; then
    unset AIRFLOW_CONN_SCA_WEBHOOKS
  elif [ -n "${SCA_WEBHOOK_SECRET:-}" ]; then
    export AIRFLOW_CONN_SCA_WEBHOOKS="{\"conn_type\": \"http\", \"host\": \"http://$SCA_HOST:$AIRFLOW_PORT/sca-hooks\", \"password\": \"$SCA_WEBHOOK_SECRET\"}"
  fi
}
export_webhooks_connection
set -u
