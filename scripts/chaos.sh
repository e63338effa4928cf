#!/usr/bin/env bash
# kill -9 chaos against the real relay binary: writers on the vault endpoint,
# SIGKILL at seeded moments, restart, and a check that every acknowledged
# update is still there. Ends with `cycles N, acked M, lost K`; exits non-zero
# if K > 0 (or if nothing was acknowledged, which would prove nothing).
#
#   scripts/chaos.sh [--cycles N] [--seed S] [other tessera-chaos flags]
#   scripts/chaos.sh --worker [--cycles N] [--seed S]   the same against the
#       Worker under `wrangler dev` (workerd SIGKILLed, restarted with the
#       same --persist-to state)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

args=()
worker=0
for a in "$@"; do
  if [[ "$a" == "--worker" ]]; then worker=1; else args+=("$a"); fi
done

cargo build --quiet -p tessera-relay -p tessera-reliability
if [[ $worker -eq 1 ]]; then
  # Rebuild the bundle (worker-build is incremental), so the run tests this tree.
  npx wrangler deploy --dry-run --outdir dist >/dev/null
  secret="$(scripts/worker-dev.sh secret)"
  exec "$TARGET_DIR/debug/tessera-chaos" --worker-root "$ROOT" --secret "$secret" "${args[@]}"
fi
exec "$TARGET_DIR/debug/tessera-chaos" --relay-bin "$TARGET_DIR/debug/tessera-relay" "${args[@]}"
