#!/usr/bin/env bash
# End-to-end benchmarks of the permgraph binary on generated GAAD exports
# (`make bench`). What each number means: bench/README.md.
#
# Environment:
#   SIZE=N        also run at N principals (users + roles) after the base size
#   BASE=N        the base size (20000)
#   SNAPSHOTS=K   snapshots per size, the first plus K-1 days of 1% churn (10)
#   BUDGET=S      stop taking churn snapshots once S seconds went into them (240);
#                 at least one churn snapshot is always taken
#   QUERY_RUNS=R  query runs, the median of R is reported (5)
#   FIRST_RUNS=F  first snapshots into new stores, median reported (3)
#   EVENTS=E      CloudTrail events for the detection rows (200000)
#   DETECT_RUNS=D detect / parse-floor runs, median reported (3)
#   PGPEER=1      also load the base-size graph into a throwaway PostgreSQL
#                 (bench/pgpeer/pgpeer.sh) and report permgraph/PostgreSQL
#   PERMGRAPH_BIN use this binary instead of building ./cmd/permgraph
#   RESULTS       where the markdown report goes (bench/results.md)
#   BENCH_GO=1    also run the Go benchmarks (go test -bench, one iteration each)
#   SHARED_GAAD   the third-party sample for the import MB/s row
#                 (../shared/testdata/gaad/cloudsplaining-test-authz-details.json)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/bench/out
SNAPSHOTS=${SNAPSHOTS:-10}
BUDGET=${BUDGET:-240}
QUERY_RUNS=${QUERY_RUNS:-5}
FIRST_RUNS=${FIRST_RUNS:-3}
EVENTS=${EVENTS:-200000}
DETECT_RUNS=${DETECT_RUNS:-3}
PGPEER=${PGPEER:-0}
RESULTS=${RESULTS:-$ROOT/bench/results.md}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_GO=${BENCH_GO:-0}
SHARED_GAAD=${SHARED_GAAD:-$ROOT/../shared/testdata/gaad/cloudsplaining-test-authz-details.json}
GO=${GO:-go}
BASE=${BASE:-20000}
sizes=("$BASE")
if [[ -n ${SIZE:-} && ${SIZE} != "$BASE" ]]; then
	sizes+=("$SIZE")
fi

mkdir -p "$OUT"
log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "building permgraph, gengaad, pgpeer and ctfloor"
if [[ -n ${PERMGRAPH_BIN:-} ]]; then
	cp "$PERMGRAPH_BIN" "$OUT/permgraph"
else
	$GO build -o bin/permgraph ./cmd/permgraph
	# Run a private copy: a `make build` elsewhere must not swap the binary
	# between the snapshots of one measurement.
	cp bin/permgraph "$OUT/permgraph"
fi
$GO build -o "$OUT/gengaad" ./bench/gengaad
$GO build -o "$OUT/pgpeer" ./bench/pgpeer
$GO build -o "$OUT/ctfloor" ./bench/ctfloor
PG=$OUT/permgraph

# /usr/bin/time -v gives max RSS; install it when we may, else time in bash.
TIMEV=""
if [[ -x /usr/bin/time ]]; then
	TIMEV=/usr/bin/time
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	log "installing GNU time for max RSS"
	if apt-get install -y -qq time >/dev/null 2>&1 && [[ -x /usr/bin/time ]]; then
		TIMEV=/usr/bin/time
	fi
fi
[[ -n $TIMEV ]] || log "GNU time not available: max RSS is not measured"

now_ns() { date +%s%N; }
secs() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e9 }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.0f", n / 1e6 }'; }

# timed NAME OUTFILE CMD...: runs CMD with stdout to OUTFILE; sets WALL (s),
# RSS (MiB, or n/a) and CPU (user+sys s, or n/a); GNU time's report is kept
# in bench/out/time-NAME.txt.
timed() {
	local tf="$OUT/time-$1.txt" outfile=$2
	shift 2
	if [[ -n $TIMEV ]]; then
		"$TIMEV" -v -o "$tf" "$@" >"$outfile"
		WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$tf")
		RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tf")
		CPU=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$tf")
	else
		local t0
		t0=$(now_ns)
		"$@" >"$outfile"
		WALL=$(secs $(($(now_ns) - t0)))
		RSS=n/a
		CPU=n/a
	fi
}

# median VALUES on stdin, one a line.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# median_of N CMD...: median wall time in ms over N runs, stdout discarded.
median_of() {
	local n=$1 t0
	local -a ds=()
	shift
	for ((i = 0; i < n; i++)); do
		t0=$(now_ns)
		"$@" >/dev/null
		ds+=($(($(now_ns) - t0)))
	done
	ms "$(printf '%s\n' "${ds[@]}" | median)"
}

# kv KEY FILE: the value of a key=value line.
kv() { awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { print (v == "") ? "n/a" : v }' "$2"; }

export_file() { # export_file SIZE DAY -> path (generated once)
	local f="$OUT/gaad-$1-day$2.json"
	if [[ ! -s $f ]]; then
		"$OUT/gengaad" -q -principals "$1" -seed 1 -churn 0.01 -churn-round "$2" -out "$f"
	fi
	printf '%s' "$f"
}

filesize() { stat -c %s "$1"; }
dusize() { du -sb "$1" | cut -f1; }
mb() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "n/a" }'; }

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }

for size in "${sizes[@]}"; do
	db="$OUT/db-$size"
	rm -rf "$db"
	log "size $size: generating day 0"
	f0=$(export_file "$size" 0)
	bytes=$(filesize "$f0")
	log "size $size: first snapshot ($(mb "$bytes") MB export), $FIRST_RUNS runs into new stores"
	walls=() rsss=() cpus=()
	for ((r = 0; r < FIRST_RUNS; r++)); do
		rm -rf "$db"
		timed "$size-day0" "$OUT/collect.out" "$PG" --db "$db" collect aws --from "$f0" --at 2026-01-01T06:00:00Z
		walls+=("$WALL") rsss+=("$RSS") cpus+=("$CPU")
	done
	first_wall=$(printf '%s\n' "${walls[@]}" | median)
	first_cpu=$(printf '%s\n' "${cpus[@]}" | median)
	first_rss=$(printf '%s\n' "${rsss[@]}" | median)
	[[ $TIMEV ]] || first_rss=n/a first_cpu=n/a
	size1=$(dusize "$db")
	sizes_list="1: $(mb "$size1")"
	summary=$(head -1 "$OUT/collect.out")
	row "$size" "first snapshot (import + derive + write), wall / CPU, median of $FIRST_RUNS" "${first_wall} s / ${first_cpu} s" "<= 60 s at 520k"
	row "$size" "import throughput, whole pipeline (export MB / first snapshot wall)" "$(mbps "$bytes" "$first_wall") MB/s" ""
	row "$size" "peak RSS, first snapshot (median)" "${first_rss} MiB" "<= 4 GiB at 520k"
	row "$size" "snapshot content" "${summary#snapshot }" ""

	churn_total=0 churn_n=0 churn_max=0 rss_max=${first_rss}
	spent_ns=0
	for ((day = 1; day < SNAPSHOTS; day++)); do
		if ((day > 1 && spent_ns > BUDGET * 1000000000)); then
			log "size $size: churn budget of ${BUDGET}s spent after $churn_n churn snapshots; stopping"
			break
		fi
		f=$(export_file "$size" "$day")
		log "size $size: churn snapshot day $day"
		t0=$(now_ns)
		timed "$size-day$day" "$OUT/collect.out" "$PG" --db "$db" collect aws --from "$f" --at "$(date -u -d "2026-01-01 +$day days" +%Y-%m-%dT06:00:00Z)"
		spent_ns=$((spent_ns + $(now_ns) - t0))
		churn_total=$(awk -v a="$churn_total" -v b="$WALL" 'BEGIN { print a + b }')
		churn_max=$(awk -v a="$churn_max" -v b="$WALL" 'BEGIN { print (b > a) ? b : a }')
		if [[ $RSS != n/a && $rss_max != n/a && $RSS -gt $rss_max ]]; then rss_max=$RSS; fi
		churn_n=$((churn_n + 1))
		if ((day == 1)); then churn_summary=$(head -1 "$OUT/collect.out"); fi
		sizes_list+=", $((day + 1)): $(mb "$(dusize "$db")")"
	done
	sizeN=$(dusize "$db")
	taken=$((churn_n + 1))
	if ((churn_n > 0)); then
		row "$size" "1%-churn snapshot, mean / max wall ($churn_n taken)" "$(awk -v t="$churn_total" -v n="$churn_n" 'BEGIN { printf "%.2f", t / n }') s / ${churn_max} s" "<= 5 s at 520k"
		row "$size" "day-1 churn snapshot content" "${churn_summary#snapshot }" ""
	fi
	row "$size" "max RSS, any snapshot" "${rss_max} MiB" "<= 1024 MiB"
	row "$size" "store size after 1 snapshot (du -sb)" "$(mb "$size1") MB" ""
	row "$size" "store size after $taken snapshots" "$(mb "$sizeN") MB ($(awk -v a="$sizeN" -v b="$size1" 'BEGIN { printf "%.2f", a / b }')x)" "30 at 1% churn <= 1.5x one"
	row "$size" "store size (MB) by snapshot count" "$sizes_list" ""

	log "size $size: queries (median of $QUERY_RUNS)"
	who=$(median_of "$QUERY_RUNS" "$PG" --db "$db" who-can deploy -o json)
	"$PG" --db "$db" who-can deploy -o csv >"$OUT/who-can.csv"
	n_who=$(($(wc -l <"$OUT/who-can.csv") - 1))
	json_bytes=$("$PG" --db "$db" who-can deploy -o json | wc -c)
	row "$size" "who-can deploy -o json, cold process ($n_who principals, $(mb "$json_bytes") MB of JSON)" "$who ms" ""
	csv=$(median_of "$QUERY_RUNS" "$PG" --db "$db" who-can deploy -o csv)
	row "$size" "who-can deploy -o csv, cold process (same query, lighter output)" "$csv ms" ""
	base=$(median_of "$QUERY_RUNS" "$PG" --db "$db" snapshots list)
	row "$size" "snapshots list, cold process (start + store open baseline)" "$base ms" ""
	# Prefer a user whose path goes through a role chain (the longest walk).
	from=$(awk -F, 'NR > 1 && $3 == "user" && /CanAssume/ { print $2; exit }' "$OUT/who-can.csv")
	[[ -n $from ]] || from=$(awk -F, 'NR > 1 && $3 == "user" { print $2; exit }' "$OUT/who-can.csv")
	if [[ -n $from ]]; then
		p=$(median_of "$QUERY_RUNS" "$PG" --db "$db" path "$from" deploy -o json)
		row "$size" "path USER deploy -o json, cold process" "$p ms" ""
	fi
	# In process: load-to-memory (the cached view), who-can and path warm.
	"$OUT/pgpeer" measure -db "$db" -runs "$QUERY_RUNS" -write-runs 0 ${from:+-path-from "$from"} >"$OUT/measure-$size.txt"
	row "$size" "load to memory (latest-view cache, in process)" "$(kv load_ms "$OUT/measure-$size.txt") ms" ""
	row "$size" "who-can deploy, warm view (in process; first call $(kv whocan_first_ms "$OUT/measure-$size.txt") ms)" "$(kv whocan_warm_ms "$OUT/measure-$size.txt") ms" "<= 1 s at 520k"
	if [[ -n $from ]]; then
		row "$size" "path USER deploy, warm view (in process)" "$(kv path_warm_ms "$OUT/measure-$size.txt") ms" "<= 50 ms at 520k"
	fi
	if ((churn_n > 0)); then
		"$PG" --db "$db" -o json diff >"$OUT/diff-$size.json"
		changes=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["sources"][0]; print(s["added"]+s["removed"]+s["changed"])' "$OUT/diff-$size.json" 2>/dev/null || echo "?")
		d=$(median_of "$QUERY_RUNS" "$PG" --db "$db" -o json diff)
		row "$size" "diff latest vs previous (1% churn, $changes items changed), cold process" "$d ms" ""
	fi
	if [[ -n $TIMEV ]]; then
		timed "$size-who-can" /dev/null "$PG" --db "$db" who-can deploy -o json
		row "$size" "max RSS, who-can deploy" "${RSS} MiB" ""
	fi
done

log "import benchmark (shared sample and generated 20k export)"
if [[ -f $SHARED_GAAD ]]; then
	$GO test -run '^$' -bench 'BenchmarkImportGAAD' -benchtime 3x ./collectors/awsiam/ | tee "$OUT/go-import.txt" >&2
	mbs=$(awk '/BenchmarkImportGAAD\/cloudsplaining/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "MB/s") print $i }' "$OUT/go-import.txt")
	row "$(basename "$SHARED_GAAD" .json)" "ImportGAAD in process (Go benchmark)" "${mbs:-n/a} MB/s" ""
	mbs=$(awk '/BenchmarkImportGAAD\/generated/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "MB/s") print $i }' "$OUT/go-import.txt")
	row "${PERMGRAPH_BENCH_PRINCIPALS:-20000}" "ImportGAAD in process (Go benchmark)" "${mbs:-n/a} MB/s" ""
else
	log "shared sample $SHARED_GAAD not found: skipping its import row"
fi

if [[ $BENCH_GO == 1 ]]; then
	log "Go benchmarks (one iteration each)"
	$GO test -run '^$' -bench . -benchtime 1x -timeout 2h ./policy/aws/ ./queries/ ./ingest/ | tee "$OUT/go-bench.txt" >&2
fi

# Detection: a generated CloudTrail stream whose actors are the base-size
# organisation's users and roles, against the base-size store.
db="$OUT/db-$BASE"
trail="$OUT/cloudtrail-$BASE-$EVENTS.jsonl"
if [[ ! -s $trail ]]; then
	log "generating $EVENTS CloudTrail events"
	"$OUT/ctfloor" gen -principals "$BASE" -events "$EVENTS" -out "$trail" 2>/dev/null
fi
log "detection: parse floor and permgraph detect, $DETECT_RUNS runs each"
"$OUT/ctfloor" floor -runs "$DETECT_RUNS" "$trail" >"$OUT/floor.txt"
dwalls=() dcpus=() drss=()
for ((r = 0; r < DETECT_RUNS; r++)); do
	timed "detect" "$OUT/alerts.jsonl" "$PG" --db "$db" detect --no-store "$trail"
	dwalls+=("$WALL") dcpus+=("$CPU") drss+=("$RSS")
done
dwall=$(printf '%s\n' "${dwalls[@]}" | median)
alerts=$(wc -l <"$OUT/alerts.jsonl")
eps() { awk -v n="$EVENTS" -v s="$1" 'BEGIN { if (s + 0 > 0) printf "%.0f", n / s; else print "n/a" }'; }
k() { awk -v n="$1" 'BEGIN { if (n + 0 > 0) printf "%.0fk", n / 1000; else print "n/a" }'; }
row "$BASE" "detect end to end ($EVENTS CloudTrail events, $(mb "$(filesize "$trail")") MB, all rules, $alerts alerts), events/s wall / per CPU-s" "$(k "$(eps "$dwall")") / $(k "$(eps "$(printf '%s\n' "${dcpus[@]}" | median)")")" ">= 200k/s on one core"
row "$BASE" "parse floor: detect/read alone (no graph, no rules), events/s wall / per CPU-s" "$(k "$(kv reader_eps "$OUT/floor.txt")") / $(k "$(kv reader_cpu_eps "$OUT/floor.txt")")" ""
row "$BASE" "I/O floor: read and split lines only, events/s wall / per CPU-s" "$(k "$(kv lines_eps "$OUT/floor.txt")") / $(k "$(kv lines_cpu_eps "$OUT/floor.txt")")" ""
row "$BASE" "peak RSS, detect (median)" "$(printf '%s\n' "${drss[@]}" | median) MiB" "flat over the stream"

if [[ $PGPEER == 1 ]]; then
	log "PostgreSQL peer on the $BASE store"
	RUNS=$QUERY_RUNS bash bench/pgpeer/pgpeer.sh --db "$db" --permgraph "$PG" >"$OUT/pgpeer.txt"
	pv() { kv "$1" "$OUT/pgpeer.txt"; }
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
	row "$BASE" "PostgreSQL $(pv nodes) nodes / $(pv edges) edges: load (COPY + indexes + ANALYZE), median" "$(pv pg_load_ms) ms" ""
	row "$BASE" "permgraph: write the same graph as one snapshot into a new store (with evidence), median" "$(pv write_ms) ms" ""
	row "$BASE" "permgraph: load to memory (latest-view cache)" "$(pv load_ms) ms" ""
	row "$BASE" "load ratio permgraph/PostgreSQL: store write / load to memory" "$(ratio "$(pv write_ms)" "$(pv pg_load_ms)")x / $(ratio "$(pv load_ms)" "$(pv pg_load_ms)")x" ""
	row "$BASE" "PostgreSQL who-can deploy, recursive CTE ($(pv pg_principals) principals, equal to permgraph's), warm median (first run $(pv pg_query_first_ms) ms)" "$(pv pg_query_ms) ms" ""
	row "$BASE" "permgraph who-can deploy, warm view, median / cold CLI process, median" "$(pv whocan_warm_ms) ms / $(pv permgraph_cold_cli_ms) ms" ""
	row "$BASE" "query ratio permgraph/PostgreSQL: warm / cold CLI vs warm CTE" "$(ratio "$(pv whocan_warm_ms)" "$(pv pg_query_ms)")x / $(ratio "$(pv permgraph_cold_cli_ms)" "$(pv pg_query_ms)")x" ""
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "# permgraph bench results"
	echo
	echo "Written by \`make bench\` (bench/run.sh; what each row means: bench/README.md). $(date -u +%Y-%m-%dT%H:%MZ)."
	echo
	echo "- Build: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ -n ${PERMGRAPH_BIN:-} ]] && echo " (binary given by PERMGRAPH_BIN)"), binary sha256 $(sha256sum "$PG" | cut -c1-12), $($GO version | awk '{print $3}')"
	echo "- Machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "- Load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END. The machine is shared: with a load above the core count, wall times are pessimistic; CPU times are steadier."
	echo "- Settings: BASE=$BASE${SIZE:+ SIZE=$SIZE} SNAPSHOTS=$SNAPSHOTS FIRST_RUNS=$FIRST_RUNS QUERY_RUNS=$QUERY_RUNS EVENTS=$EVENTS DETECT_RUNS=$DETECT_RUNS PGPEER=$PGPEER; every time is the median of its runs."
	echo
	echo "| principals | measurement | result | target (issue 10, at 500k users / 100k groups / 20k roles) |"
	echo "|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
	if [[ $BENCH_GO == 1 ]]; then
		echo
		echo "Go benchmarks: bench/out/go-bench.txt"
	fi
} >"$RESULTS"
cat "$RESULTS"
log "wrote $RESULTS"
