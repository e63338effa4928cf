#!/usr/bin/env bash
# The reliability drivers of reliability/ (tessera-reliability), built and
# run against the real relay binary. Each ends with its figures and exits
# non-zero when an invariant broke.
#
#   scripts/reliability.sh fuzz [--seconds N | --execs N] [--seed S]
#       hostile-input fuzzing of every target, seeded from reliability/corpus
#   scripts/reliability.sh partition [--rounds N] [--devices N] [--seed S]
#       simulated devices, disconnects, offline edits, relay kill -9; converge
#   scripts/reliability.sh soak [--clients N] [--docs N] [--seconds N]
#       loopback soak with the relay's RSS from /proc
#   scripts/reliability.sh partition --worker ...   the same against the
#       Worker under wrangler dev (chaos: scripts/chaos.sh --worker)
#
# See also scripts/chaos.sh, scripts/outage.sh and scripts/bad-inputs.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

mode="${1:-}"
shift || true
args=()
worker=0
for a in "$@"; do
  if [[ "$a" == "--worker" ]]; then worker=1; else args+=("$a"); fi
done
cargo build --quiet -p tessera-relay -p tessera-reliability
relay=(--relay-bin "$TARGET_DIR/debug/tessera-relay")
if [[ $worker -eq 1 ]]; then
  # Rebuild the bundle (worker-build is incremental), so the run tests this tree.
  npx wrangler deploy --dry-run --outdir dist >/dev/null
  relay=(--worker-root "$ROOT" --secret "$(scripts/worker-dev.sh secret)")
fi
case "$mode" in
  fuzz) exec "$TARGET_DIR/debug/tessera-fuzz" --corpus reliability/corpus "${args[@]}" ;;
  partition) exec "$TARGET_DIR/debug/tessera-partition" "${relay[@]}" "${args[@]}" ;;
  soak) exec "$TARGET_DIR/debug/tessera-soak" --relay-bin "$TARGET_DIR/debug/tessera-relay" "${args[@]}" ;;
  *) echo "usage: scripts/reliability.sh fuzz|partition|soak [flags]" >&2; exit 2 ;;
esac
