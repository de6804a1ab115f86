#!/usr/bin/env bash
# Requests/s of the rooms example over HTTP on loopback, GET /rooms/room_1/comments, measured in
# one run: without authentication (without a token, and with the same token sent but not read,
# which shows what receiving a kilobyte of header costs; and behind two layers that do nothing,
# placed where the requirement's and the AuthLayer's are, which shows what axum's layering
# costs any middleware); with one token repeated (the verified-token cache's case);
# and with 2000 distinct tokens and the cache off (every request verifies a signature). The
# server runs on one core, wrk on the other.
#
#   bash bench/http.sh            # 3 rounds of 10 s per side, medians
#   ROUNDS=5 SECONDS_PER_SIDE=5 bash bench/http.sh
#   BASELINE=d5cfde3 bash bench/http.sh   # also the rooms example as it was at that commit
#
# With BASELINE, that commit is checked out in a git worktree, its rooms example gets the few
# lines that write the 2000 load tokens (the same claims as today's), and it is built and run
# like today's: "N times the code before" figures from one run on one machine.
#
# Installs wrk with apt-get when it is missing. Loopback only; bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${SECONDS_PER_SIDE:-10}
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
baseline_binary=""
if [ -n "${BASELINE:-}" ]; then
  tree=$(mktemp -d)
  git worktree add --detach -q "$tree/baseline" "$BASELINE"
  trap 'git worktree remove --force "$tree/baseline"; rm -rf "$tree"' EXIT
  example=$tree/baseline/examples/rooms.rs
  [ -f "$example" ] || example=$tree/baseline/examples/rooms/main.rs
  if ! grep -q SCOPEGATE_TOKENS_FILE "$example"; then
    perl -0pi -e 's/(print_dev_guide\(dev, &base\);)/$1
        if let Ok(path) = std::env::var("SCOPEGATE_TOKENS_FILE") {
            let tokens: Vec<String> = (0..2000)
                .map(|n| dev.token().subject(&format!("load-{n}"))
                    .claim(CUSTOM_SCOPES, json!(["read:comments-in-room_1"]))
                    .expires_in(60 * 60).sign())
                .collect();
            std::fs::write(path, tokens.join("\\n") + "\\n")?;
        }/' "$example"
    grep -q SCOPEGATE_TOKENS_FILE "$example" || { echo "could not add the load tokens to $BASELINE"; exit 1; }
  fi
  # The same target directory: dependencies the two share are built once.
  repo=$PWD
  (cd "$tree/baseline" && CARGO_TARGET_DIR="$repo/target" cargo build --release --example rooms)
  baseline_binary=$tree/rooms-baseline
  cp target/release/examples/rooms "$baseline_binary"
fi
cargo build --release --example rooms
binary=target/release/examples/rooms
cores=$(nproc)
server_core=0
client_core=$(( cores > 1 ? 1 : 0 ))

run_side() {
  local label=$1 extra_env=$2 mode=${3:-} side_binary=${4:-$binary}
  local port=$(( 20000 + RANDOM % 20000 ))
  local out
  out=$(mktemp)
  local tokens_file
  tokens_file=$(mktemp)
  env $extra_env SCOPEGATE_ADDR="127.0.0.1:$port" RUST_LOG=warn SCOPEGATE_TOKENS_FILE="$tokens_file" \
    timeout $(( duration + 60 )) taskset -c "$server_core" "$side_binary" >"$out" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    grep -q "export ALICE=" "$out" && [ "$(wc -l <"$tokens_file")" -ge 2000 ] && break
    sleep 0.1
  done
  local token
  token=$(sed -n 's/^  export ALICE=\([A-Za-z0-9._-]*\)$/\1/p' "$out")
  [ -n "$token" ] || { echo "no token printed"; kill "$pid"; exit 1; }
  # Warm-up: the first request fetches the keys.
  curl -s -o /dev/null -H "authorization: Bearer $token" "http://127.0.0.1:$port/rooms/room_1/comments"
  local result
  if [ "$mode" = distinct ]; then
    result=$(TOKENS_FILE="$tokens_file" taskset -c "$client_core" wrk -t1 -c16 -d"${duration}s" \
      --latency -s bench/distinct_tokens.lua "http://127.0.0.1:$port/rooms/room_1/comments")
  elif [ "$mode" = bare ]; then
    result=$(taskset -c "$client_core" wrk -t1 -c16 -d"${duration}s" --latency \
      "http://127.0.0.1:$port/rooms/room_1/comments")
  else
    result=$(taskset -c "$client_core" wrk -t1 -c16 -d"${duration}s" --latency \
      -H "authorization: Bearer $token" "http://127.0.0.1:$port/rooms/room_1/comments")
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out" "$tokens_file"
  local rps p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$result")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$result")
  [ -z "$non2xx" ] || { echo "$label: $non2xx responses were not 2xx"; exit 1; }
  printf '%-34s %12s req/s   p99 %s\n' "$label" "$rps" "$p99" >&2
  echo "$rps"
}

rounds=${ROUNDS:-3}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Each round runs every side once, so a slow spell of the machine falls on all of them; the
# median of the rounds is reported.
sides=(open header layered auth distinct)
[ -z "$baseline_binary" ] || sides+=(then_one then_distinct)
declare -A samples
echo "GET /rooms/room_1/comments, server on core $server_core, wrk on core $client_core, $rounds rounds of ${duration}s:" >&2
for round in $(seq 1 "$rounds"); do
  echo "round $round" >&2
  for side in "${sides[@]}"; do
    case $side in
      open) rps=$(run_side "without authentication" "SCOPEGATE_NO_AUTH=1" bare) ;;
      header) rps=$(run_side "without authentication, token sent" "SCOPEGATE_NO_AUTH=1") ;;
      layered) rps=$(run_side "two do-nothing layers, token sent" "SCOPEGATE_NO_AUTH=layered") ;;
      auth) rps=$(run_side "scopegate, one token repeated" "SCOPEGATE_UNUSED=1") ;;
      distinct) rps=$(run_side "scopegate, 2000 tokens, cache off" "SCOPEGATE_TOKEN_CACHE_BYTES=0" distinct) ;;
      then_one) rps=$(run_side "at $BASELINE, one token repeated" "SCOPEGATE_UNUSED=1" "" "$baseline_binary") ;;
      then_distinct) rps=$(run_side "at $BASELINE, 2000 tokens" "SCOPEGATE_UNUSED=1" distinct "$baseline_binary") ;;
    esac
    samples[$side]="${samples[$side]:-} $rps"
  done
done
declare -A med
echo "medians:"
for side in "${sides[@]}"; do
  med[$side]=$(echo ${samples[$side]} | median)
  printf '  %-14s %12s req/s\n' "$side" "${med[$side]}"
done
if [ -n "$baseline_binary" ]; then
  awk -v a="${med[auth]}" -v d="${med[distinct]}" -v ta="${med[then_one]}" -v td="${med[then_distinct]}" -v b="$BASELINE" 'BEGIN {
    printf "one token repeated, now / at %s: %.2f\n", b, a / ta
    printf "2000 tokens (cache off now), now / at %s: %.2f\n", b, d / td
  }'
fi
awk -v a="${med[auth]}" -v d="${med[distinct]}" -v o="${med[open]}" -v h="${med[header]}" -v l="${med[layered]}" 'BEGIN {
  printf "ratio one token repeated / open: %.3f (/ open with the token sent: %.3f)\n", a / o, a / h
  printf "ratio one token repeated / two do-nothing layers, token sent: %.3f\n", a / l
  printf "ratio 2000 tokens, cache off / open: %.3f (/ open with the token sent: %.3f)\n", d / o, d / h
}'
