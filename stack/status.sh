#!/usr/bin/env bash
# Shows each stack process (by its recorded PID) and whether it is alive.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -d "$RUN_DIR/pids" ] || { echo "stack not started (no $RUN_DIR/pids)"; exit 0; }
for pidf in "$RUN_DIR"/pids/*.pid; do
  [ -e "$pidf" ] || continue
  name=$(basename "$pidf" .pid)
  if pid_alive "$pidf"; then state="running (pid $(cat "$pidf"))"; else state="NOT running"; fi
  child="$RUN_DIR/pids/$name.child"  # a supervised component (stack/supervise.sh): its own process
  if pid_alive "$pidf" && [ -f "$child" ]; then
    if pid_alive "$child"; then state="$state, supervised: pid $(cat "$child")"; else state="$state, supervised: restarting"; fi
  fi
  printf '%-24s %s\n' "$name" "$state"
done
