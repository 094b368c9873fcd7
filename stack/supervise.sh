#!/usr/bin/env bash
# supervise.sh CHILD_PID_FILE COMMAND [ARG...]
#
# Runs COMMAND and starts it again when it crashes, the way a deployment's process manager does
# (docker-compose.yaml: restart: always). The Airflow scheduler exits with status 1 when
# PostgreSQL picks it as a deadlock's victim (psycopg2 DeadlockDetected); unsupervised, the stack
# then queued nothing more until someone ran `make up`.
#
# - A crash is an exit with a status from 1 to 127: COMMAND starts again after 2 s
#   (SCA_SUPERVISE_FIRST_DELAY), doubling up to 60 s while it keeps crashing within 5 minutes of
#   its start.
# - An exit with status 0, or death by a signal (status 128+n: make down, a test's SIGKILL, an
#   operator's kill), was meant: the supervisor exits with the same status. `make up` starts the
#   component again.
# - make down / stop_group signal the whole process group: COMMAND gets SIGTERM directly (a
#   second one would make the scheduler stop waiting for its running tasks), so the supervisor
#   only notes it and waits for COMMAND to finish.
#
# The running COMMAND's PID is written to CHILD_PID_FILE (the component's own process, which the
# kill-recovery tests SIGKILL); the supervisor's PID is the one in the component's .pid file.
set -u
child_pid_file=$1; shift
name=$(basename "$child_pid_file" .child)
[ $# -gt 0 ] || { echo "usage: supervise.sh CHILD_PID_FILE COMMAND [ARG...]" >&2; exit 2; }

stopping=0
trap 'stopping=1; interrupted=1' TERM INT HUP

say() { printf '[%s] supervise: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

first_delay=${SCA_SUPERVISE_FIRST_DELAY:-2}
delay=$first_delay
while :; do
  started=$SECONDS
  "$@" &
  child=$!
  echo "$child" >"$child_pid_file"
  # A trapped signal interrupts `wait` with a status above 128 while the child still runs: wait
  # again until it is really gone (bash keeps its exit status for the second wait).
  while :; do
    interrupted=0
    wait "$child"
    status=$?
    [ "$interrupted" = 1 ] && [ "$status" -gt 128 ] && kill -0 "$child" 2>/dev/null || break
  done
  rm -f "$child_pid_file"
  if [ "$stopping" = 1 ]; then
    say "$name exited with status $status after a stop signal; not restarting"
    exit "$status"
  fi
  if [ "$status" = 0 ] || [ "$status" -ge 128 ]; then
    say "$name exited with status $status (0 or killed by a signal: meant); not restarting"
    exit "$status"
  fi
  if [ $((SECONDS - started)) -ge 300 ]; then delay=$first_delay; fi
  say "$name crashed with status $status after $((SECONDS - started)) s; starting it again in $delay s"
  sleep "$delay" &
  wait $! || true
  if [ "$stopping" = 1 ]; then
    say "stop signal while waiting to restart $name; not restarting"
    exit "$status"
  fi
  delay=$((delay * 2 > 60 ? 60 : delay * 2))
done
