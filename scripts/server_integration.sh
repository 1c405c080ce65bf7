#!/usr/bin/env bash
# Run the "Running on a server with GPU workers" sequence of docs/operations.md on this machine:
# a Prefect server on 127.0.0.1, the cpu and gpu pools, the 'gpu' slot limit, prefect.yaml's
# deployments, one CPU worker standing in for both pools, and one fanned-out run of a catalog.
# Usage: scripts/server_integration.sh [CATALOG_DIR]   (default catalogs/demo; needs its masters)
set -euo pipefail
cd "$(dirname "$0")/.."
CATALOG=$(realpath "${1:-catalogs/demo}")
BIN=${VENV:-.venv}/bin
PORT=${PORT:-4200}
export PREFECT_HOME=${PREFECT_HOME:-$(mktemp -d)}
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_WORKER_QUERY_SECONDS=2
export SHELLAC_HOME=$PWD
pids=()
# Workers first, then the server (a worker shutting down still talks to it); SIGTERM, as
# background jobs of a non-interactive shell ignore SIGINT.
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.5; done
  done
}
trap cleanup EXIT

t0=$SECONDS
"$BIN/prefect" server start --host 127.0.0.1 --port "$PORT" >"$PREFECT_HOME/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -sf "$PREFECT_API_URL/health" >/dev/null && break; sleep 0.5; done
curl -sf "$PREFECT_API_URL/health" >/dev/null || { echo "server did not start" >&2; exit 1; }
echo "server up after $((SECONDS - t0)) s (PREFECT_HOME=$PREFECT_HOME)"

"$BIN/prefect" work-pool create cpu --type process >/dev/null
"$BIN/prefect" work-pool create gpu --type process >/dev/null
"$BIN/prefect" gcl create gpu --limit 1 >/dev/null
"$BIN/prefect" --no-prompt deploy --all >/dev/null
echo "pools, gpu limit and deployments created after $((SECONDS - t0)) s"

# One CPU worker stands in for every pool here; on a GPU server see docs/operations.md.
"$BIN/prefect" worker start --pool cpu --name cpu-1 >"$PREFECT_HOME/worker-cpu.log" 2>&1 &
pids+=($!)

t1=$SECONDS
"$BIN/prefect" deployment run restore-collection/demo --param catalog_dir="$CATALOG" \
  --watch --watch-timeout 900 >"$PREFECT_HOME/run.log" 2>&1 || true
tail -n 1 "$PREFECT_HOME/run.log"
echo "collection run finished in $((SECONDS - t1)) s"
grep -q "finished successfully" "$PREFECT_HOME/run.log" || { echo "collection run failed" >&2; exit 1; }
"$BIN/shellac" status "$CATALOG"
"$BIN/prefect" flow-run ls --limit 20
