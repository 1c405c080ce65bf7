#!/usr/bin/env bash
# Run the "Running on a server with GPU workers" sequence of docs/operations.md on this machine
# and time the demo deployment: a throwaway PostgreSQL cluster (when Debian's postgresql is
# installed; else the server's SQLite), a Prefect server on 127.0.0.1, the cpu and gpu pools,
# the 'gpu' slot limit, prefect.yaml's deployments, one CPU worker (--limit $CPU_LIMIT), and
# one run of the demo deployment (its GPU stages go to the CPU deployment on a machine
# without GPUs). Everything it starts is stopped by PID at the end.
# Usage: scripts/server_integration.sh [CATALOG_DIR]   (default catalogs/demo; `make demo-data` first)
set -euo pipefail
cd "$(dirname "$0")/.."
CATALOG=$(realpath "${1:-catalogs/demo}")
BIN=${VENV:-.venv}/bin
PORT=${PORT:-4200}
# The collection run holds one slot of the CPU worker while it waits for its recordings: at
# least 2 (one collection run and one recording at a time on a 2-core machine).
CPU_LIMIT=${CPU_LIMIT:-2}
WORK=$(mktemp -d)
export PREFECT_HOME=${PREFECT_HOME:-$WORK/prefect}
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_WORKER_QUERY_SECONDS=2 OMP_NUM_THREADS=1
export SHELLAC_HOME=$PWD
mkdir -p "$PREFECT_HOME"
pids=()
PGDATA=""
# Job control: each background job gets its own process group and keeps SIGINT (a plain
# background job of a non-interactive shell ignores SIGINT, and a Prefect worker turns SIGTERM
# into SIGINT, so it would never stop). Workers first, then the server (a worker shutting down
# still talks to it), then PostgreSQL; SIGTERM to each job's whole group, as systemd does.
set -m
cleanup() {
  local rc=$?
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM -- "-${pids[i]}" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.5; done
    kill -0 "${pids[i]}" 2>/dev/null && { echo "PID ${pids[i]} ignored SIGTERM for 20 s; killing it" >&2
      kill -KILL -- "-${pids[i]}" 2>/dev/null || true; }
  done
  if [ -n "$PGDATA" ] && [ -f "$PGDATA/postmaster.pid" ]; then
    kill -INT "$(head -1 "$PGDATA/postmaster.pid")" 2>/dev/null || true
    for _ in $(seq 1 30); do [ -f "$PGDATA/postmaster.pid" ] || break; sleep 0.5; done
  fi
  if [ "$rc" = 0 ]; then rm -rf "$WORK"; else echo "failed (exit $rc); logs kept in $PREFECT_HOME" >&2; fi
}
trap cleanup EXIT

t0=$SECONDS
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
  PGPORT=${PGPORT:-55432}
  as_pg=(); [ "$(id -u)" = 0 ] && { chown postgres "$WORK"; as_pg=(runuser -u postgres --); }
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U prefect --auth=trust -E UTF8 --no-sync >/dev/null
  PGDATA=$WORK/pg
  "${as_pg[@]}" "$PG_BIN/postgres" -D "$PGDATA" -h 127.0.0.1 -p "$PGPORT" -k "$WORK" \
    >"$PREFECT_HOME/postgres.log" 2>&1 &
  for _ in $(seq 1 60); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.5; done
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U prefect prefect
  export PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://prefect@127.0.0.1:$PGPORT/prefect"
  echo "PostgreSQL up on 127.0.0.1:$PGPORT after $((SECONDS - t0)) s"
else
  echo "postgresql not installed (make system-deps): the server uses SQLite"
fi

"$BIN/prefect" server start --host 127.0.0.1 --port "$PORT" >"$PREFECT_HOME/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 240); do curl -sf "$PREFECT_API_URL/health" >/dev/null && break; sleep 0.5; done
curl -sf "$PREFECT_API_URL/health" >/dev/null || { echo "server did not start" >&2; exit 1; }
echo "server up after $((SECONDS - t0)) s (PREFECT_HOME=$PREFECT_HOME)"

# --overwrite / update: a loaded machine's CLI may retry a create that already went through.
setup_log=$PREFECT_HOME/setup.log
"$BIN/prefect" work-pool create cpu --type process --overwrite >>"$setup_log"
"$BIN/prefect" work-pool create gpu --type process --overwrite >>"$setup_log"
"$BIN/prefect" gcl create gpu --limit 1 >>"$setup_log" || "$BIN/prefect" gcl update gpu --limit 1 >>"$setup_log"
"$BIN/prefect" --no-prompt deploy --all >>"$setup_log"
echo "pools, gpu limit and deployments created after $((SECONDS - t0)) s"

# The demo deployment sends every stage to the CPU deployment: one CPU worker serves it.
"$BIN/prefect" worker start --pool cpu --name cpu-1 --limit "$CPU_LIMIT" >"$PREFECT_HOME/worker-cpu.log" 2>&1 &
pids+=($!)

t1=$SECONDS
"$BIN/prefect" deployment run restore-collection/demo --param catalog_dir="$CATALOG" \
  --watch --watch-timeout 1800 >"$PREFECT_HOME/run.log" 2>&1 || true
tail -n 2 "$PREFECT_HOME/run.log"
echo "demo deployment run finished in $((SECONDS - t1)) s (CPU worker --limit $CPU_LIMIT)"
"$BIN/shellac" status "$CATALOG"
summary=$("$BIN/python" -c "import sys; from pathlib import Path; from shellac.catalogs import load_catalog
print(load_catalog(Path(sys.argv[1])).config.collection_dir / 'summary.json')" "$CATALOG")
[ -f "$summary" ] && "$BIN/python" -c \
  "import json, sys; print(json.dumps(json.load(open(sys.argv[1]))['orchestration'], indent=1))" "$summary"
grep -q "finished successfully" "$PREFECT_HOME/run.log" || { echo "collection run did not complete" >&2; exit 1; }
