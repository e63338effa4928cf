#!/usr/bin/env bash
# Tessera against y-websocket, Hocuspocus and y-sweet, side by side on
# loopback, in one run: fan-out, many docs, keystroke replay, vault sync and
# acknowledgement latency (bench/src/scenarios/). Each server is started
# fresh (new process, empty data dir) for each scenario, so no scenario sees
# another's memory or data.
#
#   scripts/bench.sh           full run (≤ 15 min): writes bench/results/peers.json,
#                              docs/benchmarks.md's figures and docs/img/bench-*.png
#   scripts/bench.sh --quick   smoke run (small sizes) into a temp dir; checks
#                              only that everything runs, never timings
#
# Servers: y-websocket@2 bin/server.cjs with LevelDB (YPERSISTENCE),
# Hocuspocus 4 with file persistence (bench/peers/hocuspocus.mjs), y-sweet
# with its filesystem store, the Tessera relay (filesystem store; and with
# SeaweedFS as S3 when `weed` is installed). Peers come from
# bench/peers/package-lock.json and `cargo install y-sweet --locked`
# (scripts/setup.sh installs them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
  esac
done

say() { printf 'bench: %s\n' "$*" >&2; }
SECONDS=0

if [[ $QUICK -eq 1 ]]; then
  FANOUT_READERS="1 10"; FANOUT_ARGS=(--paced-rate 50 --paced-secs 0.5 --saturated-secs 0.5)
  MANY_DOCS="50"; SETTLE=1; REPLAY_LIMIT=2000; NOTES=100; ACK_UPDATES=300
else
  FANOUT_READERS="1 10 100"; FANOUT_ARGS=(--paced-rate 100 --paced-secs 2 --saturated-secs 3)
  MANY_DOCS="1000 10000"; SETTLE=12; REPLAY_LIMIT=40000; NOTES=10000; ACK_UPDATES=10000
fi
TRACE="${TESSERA_BENCH_TRACE:-$ROOT/../shared/traces/automerge-paper.json.gz}"
VAULTS="${TESSERA_BENCH_VAULTS:-$ROOT/../shared/vaults}"

if [[ $QUICK -eq 0 ]] && ! python3 -c 'import matplotlib' 2>/dev/null; then
  echo "bench: matplotlib is missing (the plots need it): run scripts/setup.sh --all" >&2
  exit 1
fi

# The smoke run uses debug builds: scripts/test.sh has built them already,
# and a release build (LTO) alone would take longer than the whole smoke run.
PROFILE=release
[[ $QUICK -eq 1 ]] && PROFILE=debug
# Both binaries by name: `--bin` applies to every -p, so naming one skips the other.
if [[ $PROFILE == release ]]; then
  cargo build -q --release -p tessera-relay -p tessera-bench --bin tessera-relay --bin tessera-bench
else
  cargo build -q -p tessera-relay -p tessera-bench --bin tessera-relay --bin tessera-bench
fi
BENCH="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/tessera-bench"
RELAY="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/tessera-relay"

[[ -d bench/peers/node_modules/y-websocket ]] || npm ci --prefix bench/peers --no-audit --no-fund
HAVE_YSWEET=1
if ! command -v y-sweet >/dev/null 2>&1; then
  HAVE_YSWEET=0
  say "y-sweet is not installed: its column is skipped (scripts/setup.sh installs it: cargo install y-sweet --locked)"
fi

WORK="$(mktemp -d)"
OUT="$WORK/out"
mkdir -p "$OUT"
SERVER_PID=""
SEAWEED=""
cleanup() {
  stop_server
  if [[ -n "$SEAWEED" ]]; then scripts/seaweedfs.sh stop "$SEAWEED" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# SeaweedFS for the "tessera-s3" column, when available.
if command -v weed >/dev/null 2>&1; then
  SEAWEED="$WORK/seaweed"
  mkdir -p "$SEAWEED"
  if ! eval "$(scripts/seaweedfs.sh start "$SEAWEED" --owner $$ 2>/dev/null)"; then
    say "SeaweedFS did not start: the tessera-s3 column is skipped"
    SEAWEED=""
  fi
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do
    p=$((22000 + RANDOM % 8000))
    port_open "$p" || { echo "$p"; return; }
  done
}

SECRET="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export TESSERA_SECRET="$SECRET"

# start_server NAME: a fresh server with an empty data dir; sets SERVER_PID and URL.
start_server() {
  local name="$1" port data
  port="$(free_port)"
  data="$WORK/data-$name-$RANDOM"
  mkdir -p "$data"
  case "$name" in
    y-websocket)
      HOST=127.0.0.1 PORT="$port" YPERSISTENCE="$data" \
        node bench/peers/node_modules/y-websocket/bin/server.cjs >"$data.log" 2>&1 & ;;
    hocuspocus)
      node bench/peers/hocuspocus.mjs "$port" "$data" >"$data.log" 2>&1 & ;;
    y-sweet)
      y-sweet serve "$data" --host 127.0.0.1 --port "$port" >"$data.log" 2>&1 & ;;
    tessera)
      RUST_LOG=warn TESSERA_NO_RATE_LIMITS=true TESSERA_AUTO_CREATE_VAULTS=true "$RELAY" serve --listen "127.0.0.1:$port" --data "$data" >"$data.log" 2>&1 & ;;
    tessera-s3)
      RUST_LOG=warn TESSERA_S3_BUCKET="$TESSERA_TEST_S3_BUCKET" TESSERA_S3_ENDPOINT="$TESSERA_TEST_S3_ENDPOINT" \
        TESSERA_S3_REGION="$TESSERA_TEST_S3_REGION" TESSERA_S3_PATH_STYLE=true \
        TESSERA_S3_PREFIX="bench-$RANDOM$RANDOM" TESSERA_NO_RATE_LIMITS=true TESSERA_AUTO_CREATE_VAULTS=true \
        "$RELAY" serve --listen "127.0.0.1:$port" --data "$data" >"$data.log" 2>&1 & ;;
    *) say "unknown server $name"; return 1 ;;
  esac
  SERVER_PID=$!
  URL="ws://127.0.0.1:$port"
  SERVER_LOG="$data.log"
  for _ in $(seq 200); do
    port_open "$port" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  say "$name did not start:"; cat "$data.log" >&2
  return 1
}

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

FAILED=0
# run SERVER PROTO KEY SCENARIO ARGS...: one scenario against a fresh SERVER,
# figures saved as $OUT/SERVER/KEY.json (an {"error": …} object if it failed).
run() {
  local server="$1" proto="$2" key="$3"
  shift 3
  [[ "$server" == y-sweet && $HAVE_YSWEET -eq 0 ]] && return 0
  [[ "$server" == tessera-s3 && -z "$SEAWEED" ]] && return 0
  mkdir -p "$OUT/$server"
  local t0=$SECONDS err="$WORK/err"
  if ! start_server "$server"; then
    FAILED=1; echo '{"error": "server did not start"}' >"$OUT/$server/$key.json"; return 0
  fi
  # A stuck case fails on its own deadline instead of stalling the run.
  if RUST_BACKTRACE=0 timeout 300 "$BENCH" --peer "$proto" --url "$URL" --pid "$SERVER_PID" "$@" \
    >"$OUT/$server/$key.json" 2>"$err"; then
    say "$server $key: ok ($((SECONDS - t0))s)"
  else
    FAILED=1
    local why
    why="$(grep -m1 '^Error' "$err" || tail -1 "$err")"
    say "$server $key: FAILED: $why"
    tail -5 "$SERVER_LOG" >&2 || true
    python3 -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}))' "$why" >"$OUT/$server/$key.json"
  fi
  stop_server
}

PEERS=(y-websocket hocuspocus y-sweet)
for n in $FANOUT_READERS; do
  for s in "${PEERS[@]}" tessera; do run "$s" "$s" "fanout_$n" fanout --readers "$n" "${FANOUT_ARGS[@]}"; done
done
for n in $MANY_DOCS; do
  for s in "${PEERS[@]}" tessera; do run "$s" "$s" "manydocs_$n" manydocs --docs "$n" --settle-secs "$SETTLE"; done
  run tessera tessera-vault "manydocs_${n}_one_socket" manydocs --docs "$n" --shared --settle-secs "$SETTLE"
done
for s in "${PEERS[@]}" tessera; do run "$s" "$s" replay replay --trace "$TRACE" --limit "$REPLAY_LIMIT"; done
for s in "${PEERS[@]}"; do run "$s" "$s" vaultsync vaultsync --notes "$NOTES" --vaults "$VAULTS"; done
run tessera tessera-vault vaultsync vaultsync --notes "$NOTES" --vaults "$VAULTS"
run tessera tessera "vaultsync_socket_per_doc" vaultsync --notes "$NOTES" --vaults "$VAULTS"
run hocuspocus hocuspocus ack ack --updates "$ACK_UPDATES"
run tessera tessera-vault ack ack --updates "$ACK_UPDATES"
run tessera-s3 tessera-vault ack ack --updates "$ACK_UPDATES"
run tessera-s3 tessera-vault vaultsync vaultsync --notes "$NOTES" --vaults "$VAULTS"
run tessera-s3 tessera "fanout_100" fanout --readers "${FANOUT_READERS##* }" "${FANOUT_ARGS[@]}"

if [[ $QUICK -eq 1 ]]; then
  python3 bench/report.py "$OUT" "$WORK/peers.json" --no-doc
else
  python3 bench/report.py "$OUT" bench/results/peers.json --doc docs/benchmarks.md --img docs/img
fi
say "done in ${SECONDS}s"
exit $FAILED
