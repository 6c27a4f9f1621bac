#!/usr/bin/env bash
# Side-by-side peer: the latest graph of a permgraph store loaded into a
# throwaway PostgreSQL, "who can deploy" as a recursive CTE, answers compared
# as sets (exit 1 when they differ), load and query times for both systems.
# bench/README.md explains the rows.
#
#   bash bench/pgpeer/pgpeer.sh --db DIR [--permgraph BIN]
#
# Environment: RUNS (5, median reported), LOAD_RUNS (3), WORK (a temp dir;
# kept only if KEEP=1), PGPORT (random free loopback port), PG_BINDIR.
# Prints key=value lines on stdout (pg_load_ms, pg_query_ms, ...), progress
# on stderr. Never touches a system cluster: initdb + pg_ctl in a temp dir,
# as the postgres user when run as root.
set -euo pipefail

cd "$(dirname "$0")/../.."
DB="" PGBIN_PERMGRAPH=""
while (($#)); do
	case $1 in
	--db) DB=$2; shift 2 ;;
	--permgraph) PGBIN_PERMGRAPH=$2; shift 2 ;;
	*) echo "pgpeer.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ -n $DB ]] || { echo "pgpeer.sh: want --db DIR" >&2; exit 2; }
DB=$(cd "$DB" && pwd)
RUNS=${RUNS:-5}
LOAD_RUNS=${LOAD_RUNS:-3}
GO=${GO:-go}
log() { printf '%s pgpeer: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# PostgreSQL binaries: Debian's postgresql, installed when missing and allowed.
find_bindir() {
	if [[ -n ${PG_BINDIR:-} ]]; then printf '%s' "$PG_BINDIR"; return; fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	[[ -n $d && -x $d/initdb ]] && printf '%s' "$d"
}
BINDIR=$(find_bindir || true)
if [[ -z $BINDIR ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		log "installing postgresql (apt-get)"
		apt-get install -y -qq postgresql >/dev/null
		BINDIR=$(find_bindir)
	fi
fi
[[ -n $BINDIR && -x $BINDIR/initdb ]] || { echo "pgpeer.sh: PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
PSQL=$BINDIR/psql
[[ -x $PSQL ]] || PSQL=$(command -v psql)

WORK=${WORK:-$(mktemp -d /tmp/pgpeer.XXXXXX)}
mkdir -p "$WORK"
chmod 755 "$WORK"
PGDATA=$WORK/pgdata
SOCK=$WORK/sock
mkdir -p "$SOCK" "$PGDATA"
chmod 700 "$PGDATA"
# initdb refuses to run as root: the cluster belongs to postgres then.
if [[ $(id -u) == 0 ]]; then
	chown postgres "$SOCK" "$PGDATA"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi
STARTED=0
cleanup() {
	if ((STARTED)); then
		as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

$GO build -o "$WORK/pgpeer" ./bench/pgpeer
if [[ -z $PGBIN_PERMGRAPH ]]; then
	$GO build -o "$WORK/permgraph" ./cmd/permgraph
	PGBIN_PERMGRAPH=$WORK/permgraph
fi

log "exporting the latest graph of $DB"
"$WORK/pgpeer" export -db "$DB" -out "$WORK/data" >"$WORK/export.txt"
cat "$WORK/export.txt"
chmod -R a+rX "$WORK/data"

log "initdb + pg_ctl start in $WORK (PostgreSQL $("$BINDIR/postgres" --version | awk '{print $NF}'))"
as_pg "$BINDIR/initdb" -D "$PGDATA" -U bench -A trust -E UTF8 --locale=C --no-sync >/dev/null
for attempt in 1 2 3 4 5; do
	PORT=${PGPORT:-$((20000 + RANDOM % 30000))}
	if as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -l "$SOCK/pg.log" -w -t 60 start \
		-o "-p $PORT -k $SOCK -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c work_mem=64MB -c maintenance_work_mem=256MB" >/dev/null; then
		STARTED=1
		break
	fi
	log "start on port $PORT failed (attempt $attempt)"
	[[ -z ${PGPORT:-} ]] || break
done
((STARTED)) || { cat "$SOCK/pg.log" >&2; exit 1; }
PSQLC=("$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U bench -d postgres)

now_ns() { date +%s%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.1f", a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Load: create tables, COPY both files from the client, add indexes, ANALYZE.
load_ms=()
for ((i = 0; i < LOAD_RUNS; i++)); do
	"${PSQLC[@]}" -c 'DROP TABLE IF EXISTS nodes, edges' >/dev/null
	t0=$(now_ns)
	"${PSQLC[@]}" -f "$WORK/data/schema.sql" \
		-c "\\copy nodes (id, key, kind, capability) FROM '$WORK/data/nodes.copy'" \
		-c "\\copy edges FROM '$WORK/data/edges.copy'" \
		-f "$WORK/data/index.sql" >/dev/null
	load_ms+=("$(awk -v n=$(($(now_ns) - t0)) 'BEGIN { printf "%.1f", n / 1e6 }')")
done
log "load runs (ms): ${load_ms[*]}"
echo "pg_load_ms=$(printf '%s\n' "${load_ms[@]}" | median)"
echo "pg_size_mb=$("${PSQLC[@]}" -At -c "SELECT round(pg_total_relation_size('nodes') / 1e6 + pg_total_relation_size('edges') / 1e6, 1)")"

# The answer, compared as a set with permgraph's on the same store.
"${PSQLC[@]}" -At -f "$WORK/data/whocan.sql" >"$WORK/pg-who.txt"
"$PGBIN_PERMGRAPH" --db "$DB" who-can deploy -o json >"$WORK/permgraph-who.json"
"$WORK/pgpeer" compare -pg "$WORK/pg-who.txt" -permgraph "$WORK/permgraph-who.json"

# Query: RUNS+1 runs in one session (\timing, client-observed, rows fetched
# and discarded); the first run is reported apart, the median of the rest.
{
	echo '\timing on'
	echo '\o /dev/null'
	for ((i = 0; i <= RUNS; i++)); do cat "$WORK/data/whocan.sql"; done
} >"$WORK/query.sql"
"${PSQLC[@]}" -f "$WORK/query.sql" >"$WORK/query-times.txt"
mapfile -t qt < <(awk '/^Time:/ { print $2 }' "$WORK/query-times.txt")
((${#qt[@]} == RUNS + 1)) || { echo "pgpeer.sh: expected $((RUNS + 1)) timings, got ${#qt[@]}" >&2; exit 1; }
echo "pg_query_first_ms=${qt[0]}"
echo "pg_query_ms=$(printf '%s\n' "${qt[@]:1}" | median)"
"${PSQLC[@]}" -At -c "EXPLAIN (ANALYZE, TIMING OFF) $(cat "$WORK/data/whocan.sql")" >"$WORK/explain.txt" || true
[[ -n ${PGPEER_EXPLAIN:-} ]] && cp "$WORK/explain.txt" "$PGPEER_EXPLAIN"

# permgraph on the same store, in process (load to memory, warm query,
# writing the same graph into a new store) and as a cold CLI process.
"$WORK/pgpeer" measure -db "$DB" -runs "$RUNS" -write-runs "$LOAD_RUNS" -tmp "$WORK"
cold=()
for ((i = 0; i < RUNS; i++)); do
	t0=$(now_ns)
	"$PGBIN_PERMGRAPH" --db "$DB" who-can deploy -o json >/dev/null
	cold+=("$(awk -v n=$(($(now_ns) - t0)) 'BEGIN { printf "%.1f", n / 1e6 }')")
done
echo "permgraph_cold_cli_ms=$(printf '%s\n' "${cold[@]}" | median)"
