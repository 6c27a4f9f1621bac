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
#   QUERY_RUNS=R  cold query runs, best of R is reported (5)
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

log "building bin/permgraph and bench/out/gengaad"
$GO build -o bin/permgraph ./cmd/permgraph
$GO build -o "$OUT/gengaad" ./bench/gengaad
# Run a private copy: a `make build` elsewhere must not swap the binary
# between the snapshots of one measurement.
cp bin/permgraph "$OUT/permgraph"
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

# best_of N CMD...: best wall time in ms over N runs, stdout discarded.
best_of() {
	local n=$1 best="" t0 d
	shift
	for ((i = 0; i < n; i++)); do
		t0=$(now_ns)
		"$@" >/dev/null
		d=$(($(now_ns) - t0))
		if [[ -z $best || $d -lt $best ]]; then best=$d; fi
	done
	ms "$best"
}

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
	log "size $size: first snapshot ($(mb "$bytes") MB export)"
	timed "$size-day0" "$OUT/collect.out" "$PG" --db "$db" collect aws --from "$f0" --at 2026-01-01T06:00:00Z
	first_wall=$WALL first_rss=$RSS first_cpu=$CPU
	size1=$(dusize "$db")
	summary=$(head -1 "$OUT/collect.out")
	row "$size" "first snapshot (import + derive + write), wall / CPU" "${first_wall} s / ${first_cpu} s" "<= 30 s at 520k"
	row "$size" "whole-pipeline throughput (export MB / first snapshot wall)" "$(mbps "$bytes" "$first_wall") MB/s" ""
	row "$size" "max RSS, first snapshot" "${first_rss} MiB" "<= 1024 MiB at 520k"
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
	done
	sizeN=$(dusize "$db")
	taken=$((churn_n + 1))
	if ((churn_n > 0)); then
		row "$size" "1%-churn snapshot, mean / max wall ($churn_n taken)" "$(awk -v t="$churn_total" -v n="$churn_n" 'BEGIN { printf "%.2f", t / n }') s / ${churn_max} s" "<= 5 s at 520k"
		row "$size" "day-1 churn snapshot content" "${churn_summary#snapshot }" ""
	fi
	row "$size" "max RSS, any snapshot" "${rss_max} MiB" "<= 1024 MiB"
	row "$size" "store size after 1 snapshot (du -sb)" "$(mb "$size1") MB" ""
	row "$size" "store size after $taken snapshots" "$(mb "$sizeN") MB ($(awk -v a="$sizeN" -v b="$size1" 'BEGIN { printf "%.2f", a / b }')x)" "30 days < 2x one"

	log "size $size: cold queries (best of $QUERY_RUNS)"
	who=$(best_of "$QUERY_RUNS" "$PG" --db "$db" who-can deploy -o json)
	"$PG" --db "$db" who-can deploy -o csv >"$OUT/who-can.csv"
	n_who=$(($(wc -l <"$OUT/who-can.csv") - 1))
	json_bytes=$("$PG" --db "$db" who-can deploy -o json | wc -c)
	row "$size" "who-can deploy -o json, cold process ($n_who principals, $(mb "$json_bytes") MB of JSON)" "$who ms" "<= 600 ms at 520k"
	csv=$(best_of "$QUERY_RUNS" "$PG" --db "$db" who-can deploy -o csv)
	row "$size" "who-can deploy -o csv, cold process (same query, lighter output)" "$csv ms" ""
	base=$(best_of "$QUERY_RUNS" "$PG" --db "$db" snapshots list)
	row "$size" "snapshots list, cold process (start + store open baseline)" "$base ms" ""
	# Prefer a user whose path goes through a role chain (the longest walk).
	from=$(awk -F, 'NR > 1 && $3 == "user" && /CanAssume/ { print $2; exit }' "$OUT/who-can.csv")
	[[ -n $from ]] || from=$(awk -F, 'NR > 1 && $3 == "user" { print $2; exit }' "$OUT/who-can.csv")
	if [[ -n $from ]]; then
		p=$(best_of "$QUERY_RUNS" "$PG" --db "$db" path "$from" deploy -o json)
		row "$size" "path USER deploy -o json, cold process" "$p ms" "<= 500 ms at 520k"
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

echo
echo "permgraph bench, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo uncommitted) $(sha256sum "$PG" | cut -c1-12), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| principals | measurement | result | target (ARCHITECTURE.md 8) |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [[ $BENCH_GO == 1 ]]; then
	echo
	echo "Go benchmarks: bench/out/go-bench.txt"
fi
