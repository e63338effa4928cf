#!/usr/bin/env bash
# Runs every test of the repository, installing what is missing first
# (scripts/setup.sh). Stops at the first failing step and names it.
# Steps whose inputs do not exist yet (no crdt/tests/js, no plugin/) are skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

START=$SECONDS
say() { printf '\n=== test.sh: %s\n' "$*"; }

# step NAME COMMAND...: runs COMMAND; on failure names the step and exits.
step() {
  local name="$1" t0=$SECONDS
  shift
  say "$name"
  if "$@"; then
    printf '=== test.sh: %s: ok (%ss)\n' "$name" "$((SECONDS - t0))"
  else
    local rc=$?
    printf '\n=== test.sh: FAILED at step "%s" (exit %s): %s\n' "$name" "$rc" "$*" >&2
    exit "$rc"
  fi
}
skip() { say "$1: skipped ($2)"; }

# The committed Yjs fixtures must be what the pinned npm packages produce.
check_yjs_fixtures() {
  local tmp rc=0
  tmp="$(mktemp)"
  node crdt/tests/fixtures/yjs/generate.mjs "$tmp" >/dev/null || rc=$?
  if [[ $rc -eq 0 ]] && ! cmp -s "$tmp" crdt/tests/fixtures/yjs/protocol.json; then
    echo "crdt/tests/fixtures/yjs/protocol.json differs from generate.mjs's output: run node crdt/tests/fixtures/yjs/generate.mjs" >&2
    rc=1
  fi
  rm -f "$tmp"
  return $rc
}

# Node's test runner on crdt/tests/js (the WASM build in Node). Files are
# listed explicitly: Node 20 and 22 read a directory argument differently.
node_tests() {
  local files=()
  mapfile -t files < <(find crdt/tests/js -type f \( -name '*.test.mjs' -o -name '*.test.js' \
    -o -name '*.test.cjs' -o -name '*-test.mjs' -o -name '*_test.mjs' \) | sort)
  if [[ ${#files[@]} -eq 0 ]]; then
    echo "no test files (*.test.mjs) in crdt/tests/js" >&2
    return 1
  fi
  node --test "${files[@]}"
}

step "setup (scripts/setup.sh)" scripts/setup.sh
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "cargo clippy (wasm bindings)" cargo clippy -p tessera-crdt --features wasm --target wasm32-unknown-unknown -- -D warnings
step "cargo clippy (worker, wasm32)" cargo clippy -p tessera-worker --target wasm32-unknown-unknown -- -D warnings
step "cargo test" cargo test --workspace
# Stock Yjs clients (y-websocket) against the relay binary's doc endpoint.
# cargo test built the binary already; the build step is a no-op then.
step "relay binary (cargo build -p tessera-relay)" cargo build -p tessera-relay
step "stock Yjs clients (conformance/js)" env TESSERA_RELAY_BIN="${TESSERA_RELAY_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tessera-relay}" \
  node --test conformance/js/yjs-clients.test.mjs
step "yjs fixtures up to date" check_yjs_fixtures
step "WASM build (scripts/build-wasm.sh)" scripts/build-wasm.sh

if [[ -d crdt/tests/js ]]; then
  step "node tests (crdt/tests/js)" node_tests
else
  skip "node tests (crdt/tests/js)" "folder not there yet"
fi

if [[ -f plugin/package.json ]]; then
  step "plugin tests (npm test in plugin/)" npm --prefix plugin test
else
  skip "plugin tests" "plugin/package.json not there yet"
fi

# Smoke run of the peer benchmarks (small sizes; timings are never asserted).
step "benchmarks smoke run (scripts/bench.sh --quick)" scripts/bench.sh --quick
step "worker bundle (wrangler deploy --dry-run)" npx wrangler deploy --dry-run --outdir dist
step "worker under wrangler dev (scripts/worker-test.sh)" scripts/worker-test.sh

say "all steps passed in $((SECONDS - START))s"
