#!/usr/bin/env bash
# Tries every named bad input (bad tokens, garbage frames, oversized frames
# and blobs, too many docs, …) against the real relay and writes the observed
# responses to docs/bad-inputs.md. Exits non-zero if any input got anything
# but the expected refusal.
#
#   scripts/bad-inputs.sh [--out FILE]     (default docs/bad-inputs.md)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
out="docs/bad-inputs.md"
if [[ "${1:-}" == "--out" ]]; then out="$2"; fi
cargo build --quiet -p tessera-relay -p tessera-reliability
exec "$TARGET_DIR/debug/tessera-bad-inputs" --relay-bin "$TARGET_DIR/debug/tessera-relay" --out "$out"
