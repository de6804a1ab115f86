#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: repeatable for the same binary and
# inputs, whatever else the machine is doing. Each operation of benches/per_request.rs runs
# 1000 times after a warm-up; only the instructions inside that loop are counted. Prints the
# instructions per operation and the ratios the performance targets are stated in.
#
#   bash bench/instructions.sh
#
# Installs valgrind with apt-get when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
count=1000
if ! command -v valgrind >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi
binary=$(cargo bench --bench per_request --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*per_request[^"]*\)".*/\1/p' | tail -1)
[ -x "$binary" ] || { echo "the per_request bench did not build"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Instructions per operation of $1.
instructions() {
  PER_REQUEST_ONLY=$1 PER_REQUEST_COUNT=$count valgrind --tool=callgrind \
    --callgrind-out-file="$out/callgrind.out" --collect-atstart=no \
    --toggle-collect='per_request::measured_loop' "$binary" >/dev/null 2>"$out/valgrind.log" ||
    { cat "$out/valgrind.log"; exit 1; }
  awk -v count=$count '/^summary:/ {printf "%d", $2 / count}' "$out/callgrind.out"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

printf '%-8s %14s %14s %14s %14s %10s\n' alg raw-verify floor layer-uncached layer-cache-hit "uncached/raw"
for alg in RS256 ES256 EdDSA; do
  raw=$(instructions "raw-verify/$alg")
  floor=$(instructions "floor/$alg")
  uncached=$(instructions "layer-uncached/$alg")
  hit=$(instructions "layer-cache-hit/$alg")
  printf '%-8s %14s %14s %14s %14s %10s\n' "$alg" "$raw" "$floor" "$uncached" "$hit" "$(ratio "$uncached" "$raw")"
done
open=$(instructions open)
protected=$(instructions protected-cache-hit)
required=$(instructions router+requirement)
around=$(instructions around+requirement)
echo
echo "axum route, open:                               $open instructions"
echo "same route behind the layer, cache hit:         $protected instructions (open/protected $(ratio "$open" "$protected"))"
echo "same, with read:comments-in-{room} required:    $required instructions (open/required $(ratio "$open" "$required"))"
echo "same, the layer around the router (not Router::layer): $around instructions (open/around $(ratio "$open" "$around"))"
