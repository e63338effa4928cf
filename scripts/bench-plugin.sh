#!/usr/bin/env bash
# Opening and first-syncing a large vault with the plugin's engine (real WASM,
# real relay, in-memory vault folders): time and memory per phase.
# Usage: scripts/bench-plugin.sh [NOTES]   (default 10000) → bench/results/plugin-vault.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
NOTES="${1:-10000}"
[[ -f crdt/pkg/tessera_crdt_bg.wasm ]] || scripts/build-wasm.sh >/dev/null
cargo build -q --release -p tessera-relay
mkdir -p bench/results
out="$(cd plugin && TESSERA_RELAY_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera-relay" \
  node --expose-gc --import tsx bench/vault.ts "$NOTES")"
python3 - "$out" <<'PY' | tee bench/results/plugin-vault.json
import json, sys, datetime, platform
r = json.loads(sys.argv[1])
r["date"] = datetime.date.today().isoformat()
r["machine"] = platform.machine()
r["note"] = ("one Node process holds every device (A, B, C) and their in-memory vault folders, "
             "so rss/heap are the process's, cumulative across phases")
print(json.dumps(r, indent=2))
PY
