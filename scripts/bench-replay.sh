#!/usr/bin/env bash
# Keystroke replay of an editing trace: Tessera native, Tessera WASM (Node)
# and Yjs (Node), in one run on one machine. Writes bench/results/replay.json.
# Usage: scripts/bench-replay.sh [TRACE.json.gz]   (default: automerge-paper)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TRACE="${1:-$ROOT/../shared/traces/automerge-paper.json.gz}"
NAME="$(basename "$TRACE" .json.gz)"

[[ -f crdt/pkg/tessera_crdt_bg.wasm ]] || scripts/build-wasm.sh >/dev/null
cargo build -q --release -p tessera-crdt --example replay

native=$(target/release/examples/replay "$TRACE")
wasm=$(node bench/replay.mjs wasm "$TRACE")
yjs=$(node bench/replay.mjs yjs "$TRACE")

mkdir -p bench/results
python3 - "$NAME" "$native" "$wasm" "$yjs" <<'PY' | tee bench/results/replay.json
import json, sys, platform, datetime
name, native, wasm, yjs = sys.argv[1], *map(json.loads, sys.argv[2:])
out = {
    "trace": name,
    "date": datetime.date.today().isoformat(),
    "machine": platform.machine(),
    "ops": native["ops"],
    "peers": {"tessera-native": native, "tessera-wasm": wasm, "yjs": yjs},
    "ratios": {
        "native_over_yjs_time": round(native["ms"] / yjs["ms"], 3),
        "wasm_over_yjs_time": round(wasm["ms"] / yjs["ms"], 3),
    },
}
print(json.dumps(out, indent=2))
PY
