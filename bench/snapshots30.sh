#!/usr/bin/env bash
# Issue 6 numbers: the scheduled job (`permgraph snapshot`) taking ROUNDS daily
# snapshots of a generated account with 1% churn per day; store size after
# all of them versus after one; `diff` latency for one day of churn; job wall
# time and peak RSS per run. Output: bench/out/snapshots30.txt.
#
#   PRINCIPALS=N  users + roles of the generated account (20000: ~100k edges)
#   ROUNDS=K      snapshots (30)
#   DIFF_RUNS=R   cold diff runs, best of R reported (5)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/bench/out
PRINCIPALS=${PRINCIPALS:-20000}
ROUNDS=${ROUNDS:-30}
DIFF_RUNS=${DIFF_RUNS:-5}
GO=${GO:-go}
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log() { printf '%s snapshots30: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

$GO build -o "$WORK/permgraph" ./cmd/permgraph
$GO build -o "$WORK/gengaad" ./bench/gengaad
PG=$WORK/permgraph
DB=$WORK/db
TIMEV=""
[[ -x /usr/bin/time ]] && TIMEV=/usr/bin/time
disk() { du -sk "$1" | awk '{print $1}'; }     # KiB actually allocated

REPORT=$OUT/snapshots30.txt
{
	echo "# permgraph snapshot job: $ROUNDS snapshots, $PRINCIPALS principals, 1% churn per snapshot ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
	printf '%-6s %-8s %-9s %-10s %-10s\n' round edges wall_s rss_MiB store_KiB
} >"$REPORT"

for ((r = 0; r < ROUNDS; r++)); do
	f=$WORK/gaad.json
	"$WORK/gengaad" -principals "$PRINCIPALS" -seed 1 -churn 0.01 -churn-round "$r" -out "$f" 2>/dev/null
	printf 'sources:\n  - name: generated\n    type: aws\n    from: [%s]\n' "$f" >"$WORK/permgraph.yaml"
	start=$(date +%s%N)
	if [[ -n $TIMEV ]]; then
		$TIMEV -f '%M' -o "$WORK/rss" env GOFLAGS= "$PG" --db "$DB" -o json snapshot --config "$WORK/permgraph.yaml" >"$WORK/summary.json" 2>"$WORK/log" || { cat "$WORK/log" >&2; exit 1; }
		rss=$(awk '{printf "%.0f", $1/1024}' "$WORK/rss")
	else
		"$PG" --db "$DB" -o json snapshot --config "$WORK/permgraph.yaml" >"$WORK/summary.json" 2>"$WORK/log"
		rss=n/a
	fi
	end=$(date +%s%N)
	edges=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["sources"][0]["edges"])' "$WORK/summary.json" 2>/dev/null || echo "?")
	size=$(disk "$DB")
	[[ $r == 0 ]] && first=$size
	printf '%-6s %-8s %-9s %-10s %-10s\n' "$r" "$edges" "$(awk -v n=$((end - start)) 'BEGIN{printf "%.2f", n/1e9}')" "$rss" "$size" >>"$REPORT"
	log "round $r done ($size KiB)"
done

best=""
for ((i = 0; i < DIFF_RUNS; i++)); do
	start=$(date +%s%N)
	"$PG" --db "$DB" -o json diff >"$WORK/diff.json"
	end=$(date +%s%N)
	ms=$(((end - start) / 1000000))
	[[ -z $best || $ms -lt $best ]] && best=$ms
done
changes=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["sources"][0]; print(s["added"]+s["removed"]+s["changed"], len(d["capabilities"]), d["candidates"])' "$WORK/diff.json")
{
	echo
	echo "store after 1 snapshot:  $first KiB"
	echo "store after $ROUNDS snapshots: $size KiB ($(awk -v a="$size" -v b="$first" 'BEGIN{printf "%.2f", a/b}')x)"
	echo "diff (latest vs previous, cold CLI, best of $DIFF_RUNS): $best ms; changed items, capability changes, principals re-evaluated: $changes"
} >>"$REPORT"
cat "$REPORT"
