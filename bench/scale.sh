#!/usr/bin/env bash
# bench/scale.sh: issue 10's scale target in the store and the queries,
# without collectors: graph.TestScale with PERMGRAPH_SCALE_SHAPE=target
# writes a generated enterprise (USERS users, USERS/5 groups, USERS/25 roles,
# ~10 edges per user: 500000 gives ~5M edges) as SNAPSHOTS daily snapshots
# at ~1% churn, then measures a cold view load, who-can deploy and path in a
# child process. Output: bench/out/scale-USERS.txt (the test's log and GNU
# time of the writer process). See docs/performance.md.
# PGPEER=1 then loads the same store's latest graph into a throwaway
# PostgreSQL (bench/pgpeer/pgpeer.sh, RUNS=3 LOAD_RUNS=1 unless set) and
# appends the permgraph/PostgreSQL load and who-can rows to the output.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-500000}
# The permgraph binary's default soft memory limit (cmd/permgraph), so the
# writer's RSS is what a collect would show; GOMEMLIMIT=off for none.
export GOMEMLIMIT=${GOMEMLIMIT:-3584MiB}
SNAPSHOTS=${SNAPSHOTS:-30}
OUT=bench/out/scale-$USERS.txt
mkdir -p bench/out
DIR=$(mktemp -d "${TMPDIR:-/tmp}/permgraph-scale.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
go test -c -o "$DIR/graph.test" ./graph/
TIME=()
if [ -x /usr/bin/time ]; then TIME=(/usr/bin/time -v); fi
{
	echo "# bench/scale.sh $(date -u +%FT%TZ) $(git rev-parse --short HEAD) USERS=$USERS SNAPSHOTS=$SNAPSHOTS GOMEMLIMIT=$GOMEMLIMIT"
	echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT"
(cd graph && PERMGRAPH_SCALE_SHAPE=target PERMGRAPH_SCALE_USERS=$USERS PERMGRAPH_SCALE_SNAPSHOTS=$SNAPSHOTS \
	PERMGRAPH_SCALE_DIR="$DIR/db" "${TIME[@]}" "$DIR/graph.test" -test.run '^TestScale$' -test.v -test.timeout 4h) >>"$OUT" 2>&1
if [ "${PGPEER:-0}" = 1 ]; then
	go build -o "$DIR/permgraph" ./cmd/permgraph
	echo "# pgpeer on the same store" >>"$OUT"
	RUNS=${RUNS:-3} LOAD_RUNS=${LOAD_RUNS:-1} bash bench/pgpeer/pgpeer.sh --db "$DIR/db" --permgraph "$DIR/permgraph" 2>&1 |
		sed 's/^/pgpeer: /' >>"$OUT"
fi
echo "# load at end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
grep -E 'scale|Elapsed|Maximum resident|User time|System time|^#|^pgpeer: [a-z_]+=' "$OUT"
