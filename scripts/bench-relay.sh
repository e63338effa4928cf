#!/usr/bin/env bash
# Measures the release relay (filesystem store) for its report: idle RSS,
# RSS with 10k small notes, durable-ack latency at ~1k updates/s, and
# snapshot writes per minute for one busy note among 10k idle ones.
# Writes bench/results/relay.json.  Usage: scripts/bench-relay.sh [--quick]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
DOCS=10000 BUSY=60
if [[ "${1:-}" == --quick ]]; then DOCS=200 BUSY=3; fi

cargo build -q --release -p tessera-relay --bin tessera-relay --example relay_report
DATA="$(mktemp -d)"
PORT=$((20000 + RANDOM % 10000))
SECRET="bench-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
RUST_LOG=warn TESSERA_NO_RATE_LIMITS=true TESSERA_AUTO_CREATE_VAULTS=true target/release/tessera-relay serve --listen "127.0.0.1:$PORT" --data "$DATA" \
  --secret "$SECRET" >/dev/null 2>"$DATA.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA" "$DATA.log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

mkdir -p bench/results
OUT=bench/results/relay.json
[[ "$DOCS" -lt 10000 ]] && OUT="$(mktemp)"
target/release/examples/relay_report --url "http://127.0.0.1:$PORT" --secret "$SECRET" --pid "$PID" \
  --docs "$DOCS" --busy-secs "$BUSY" | tee "$OUT"
