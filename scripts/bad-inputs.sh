#!/usr/bin/env bash
# Tries every named bad input (bad tokens, garbage frames, oversized frames
# and blobs, too many docs, …) against the real relay and writes the observed
# responses to docs/bad-inputs.md. Exits non-zero if any input got anything
# but the expected refusal.
#
#   scripts/bad-inputs.sh [--worker] [--out FILE]     (default docs/bad-inputs.md)
#
# --worker also starts the Cloudflare Worker under `wrangler dev` (on
# BAD_INPUTS_WORKER_PORT, default 8798, with the same small limits) and tries
# every input there too: the table gets a column per shell.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
out="docs/bad-inputs.md"
worker=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --worker) worker=1; shift ;;
    *) echo "bad-inputs: unknown argument $1" >&2; exit 2 ;;
  esac
done
cargo build --quiet -p tessera-relay -p tessera-reliability
args=(--relay-bin "$TARGET_DIR/debug/tessera-relay" --out "$out")
if [[ $worker == 1 ]]; then
  port="${BAD_INPUTS_WORKER_PORT:-8798}"
  state="$(mktemp -d)"
  trap 'scripts/worker-dev.sh stop "$port" || true; rm -rf "$state"' EXIT
  export TESSERA_SECRET="${TESSERA_SECRET:-$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')}"
  WORKER_DEV_VAULTS=admin WORKER_DEV_ARGS="--var TESSERA_MAX_DOCS:4 --var TESSERA_MAX_BLOB:65536 --var TESSERA_MAX_FRAMES_PER_SEC:10 --var TESSERA_MAX_SOCKETS_PER_TOKEN:8 --var TESSERA_MAX_REQUESTS_PER_SEC:5" \
    scripts/worker-dev.sh start "$port" "$state"
  TESSERA_WORKER_SECRET="$TESSERA_SECRET" "$TARGET_DIR/debug/tessera-bad-inputs" "${args[@]}" \
    --worker-url "http://127.0.0.1:$port"
else
  "$TARGET_DIR/debug/tessera-bad-inputs" "${args[@]}"
fi
