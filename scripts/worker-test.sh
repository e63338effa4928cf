#!/usr/bin/env bash
# The Cloudflare Worker, tested for real under `wrangler dev` (workerd):
#   1. the conformance suite (when conformance/ is in the tree), with the
#      settings it expects (snapshot debounce 200ms, max delay 1s, 1 MiB blobs);
#   0. unauthenticated requests to every route, with random vault names and
#      with endless bodies, get 401 and leave the persist dir (Durable Objects,
#      R2) exactly as it was;
#   2. a token minted by `tessera-relay token` opens a vault on the worker;
#   3. a note written before a restart of wrangler dev (same --persist-to)
#      reads back after it;
#   4. a socket left silent for WORKER_TEST_IDLE seconds (default 75: local
#      workerd evicts an idle object after about a minute, hibernating its
#      sockets) keeps working on the same connection, and the log says how
#      often the object was rebuilt from storage meanwhile. WORKER_TEST_IDLE=0
#      skips it.
#
#   scripts/worker-test.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT="${WORKER_TEST_PORT:-8799}"
STATE="$(mktemp -d)"
URL="http://127.0.0.1:$PORT"
LOG="$ROOT/.wrangler/dev-$PORT/log"
MAX_BLOB=1048576
export WORKER_DEV_ARGS="--var TESSERA_SNAPSHOT_DEBOUNCE:200ms --var TESSERA_SNAPSHOT_MAX_DELAY:1s --var TESSERA_MAX_BLOB:$MAX_BLOB"
say() { printf 'worker-test: %s\n' "$*"; }
cleanup() {
  scripts/worker-dev.sh stop "$PORT" || true
  rm -rf "$STATE"
}
trap cleanup EXIT

SECRET="$(scripts/worker-dev.sh secret)"
export TESSERA_SECRET="$SECRET"
scripts/worker-dev.sh start "$PORT" "$STATE"

say "healthz: $(curl -fsS "$URL/healthz")"
say "readyz: $(curl -sS "$URL/readyz")"

# Nothing before authentication: no Durable Object, no R2 object. SQLite's
# -shm/-wal sidecars come and go with checkpoints (readyz reads R2), so they
# are not compared.
unauthenticated_probe() {
  local before after status vault i
  before="$(find "$STATE" -path '*/cache' -prune -o -print | grep -Ev -- '-(shm|wal)$' | sort)"
  for i in $(seq 10); do
    vault="probe-$RANDOM$RANDOM"
    for route in "POST " "GET /ws" "GET /docs/index" "PUT /blobs/00" "GET /blobs/00" "HEAD /blobs/00" \
      "POST /tokens" "POST /revoke" "GET /history?path=a.md" "POST /restore" \
      "GET /files" "GET /files/a.md" "PUT /files/a.md" "POST /files/log.md?append" "DELETE /files/a.md"; do
      # HEAD goes through -I: with -X HEAD curl waits for the body the
      # Content-Length announces, which a HEAD answer never sends.
      if [[ "$route" == HEAD* ]]; then
        status="$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' -I "$URL/v1/vaults/$vault${route#* }")"
      else
        status="$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' -X "${route%% *}" --data-binary '{}' \
          "$URL/v1/vaults/$vault${route#* }")"
      fi
      if [[ "$status" != 401 ]]; then
        echo "unauthenticated $route on $vault: HTTP $status, expected 401" >&2
        return 1
      fi
    done
  done
  # An endless body without a token: refused before it is read.
  status="$(head -c 300000000 /dev/zero | curl -s --max-time 60 -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
    -T - "$URL/v1/vaults/probe-endless/tokens" || true)"
  if [[ "$status" != 401 ]]; then
    echo "an endless unauthenticated body: HTTP $status, expected 401" >&2
    return 1
  fi
  after="$(find "$STATE" -path '*/cache' -prune -o -print | grep -Ev -- '-(shm|wal)$' | sort)"
  if [[ "$before" != "$after" ]]; then
    echo "unauthenticated requests changed the persist dir:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    return 1
  fi
}
unauthenticated_probe
say "unauthenticated requests to every route: 401, no Durable Object, no R2 object"

if [[ -f conformance/Cargo.toml ]]; then
  cargo build -q -p tessera-conformance
  # Its own report line (conformance: N/M passed) is the result.
  "${CARGO_TARGET_DIR:-$ROOT/target}"/debug/tessera-conformance --url "$URL" --secret "$SECRET" --max-blob "$MAX_BLOB" |
    tee "$STATE/conformance.txt"
else
  say "conformance suite not in the tree yet: skipped"
fi

cargo build -q -p tessera-relay
VAULT="persist-$RANDOM$RANDOM"
DOC="0123456789abcdef0123456789abcdef"
TOKEN="$("${CARGO_TARGET_DIR:-$ROOT/target}"/debug/tessera-relay token --vault "$VAULT" --scope write --secret "$SECRET")"
say "a tessera-relay token opens the worker"
node worker/tests/persist.mjs write "$URL" "$VAULT" "$DOC" "$TOKEN" "survives a restart"

say "restarting wrangler dev on the same state"
scripts/worker-dev.sh stop "$PORT"
scripts/worker-dev.sh start "$PORT" "$STATE"
node worker/tests/persist.mjs check "$URL" "$VAULT" "$DOC" "$TOKEN" "survives a restart"

say "stock Yjs clients (y-websocket) through the worker"
TESSERA_TEST_URL="$URL" TESSERA_SECRET="$SECRET" TESSERA_RELAY_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/tessera-relay" \
  node --test --test-force-exit conformance/js/yjs-clients.test.mjs

# The plugin's engine suite (real WASM core, `ws` sockets) against the worker:
# the same tests that run against the relay binary, among them the resync
# interleaving of issue 15 (an announcement racing changes-since).
say "the plugin's sync engine through the worker"
if [[ ! -f crdt/pkg/tessera_crdt_bg.wasm ]]; then scripts/build-wasm.sh; fi
(cd plugin && TESSERA_TEST_URL="$URL" TESSERA_SECRET="$SECRET" \
  TESSERA_RELAY_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/tessera-relay" \
  node --import tsx --test --test-force-exit --test-concurrency=1 test/*.test.ts)

# The named bad inputs against both shells (a second wrangler dev with the
# table's small limits): every refusal the same, and no input resets an object.
say "named bad inputs against the relay and the worker"
BAD_INPUTS_WORKER_PORT=$((PORT - 1)) scripts/bad-inputs.sh --worker --out /dev/null >/dev/null

WORKER_TEST_IDLE="${WORKER_TEST_IDLE:-75}"
if [[ "$WORKER_TEST_IDLE" != 0 ]]; then
  DOC2="fedcba9876543210fedcba9876543210"
  before="$(grep -c "vault $VAULT rebuilt" "$LOG" || true)"
  say "idle check: a socket silent for ${WORKER_TEST_IDLE}s"
  node worker/tests/persist.mjs idle "$URL" "$VAULT" "$DOC2" "$TOKEN" "idle" "$WORKER_TEST_IDLE"
  after="$(grep -c "vault $VAULT rebuilt" "$LOG" || true)"
  say "idle check: the object was rebuilt from storage $((after - before)) time(s) while the socket stayed open"
fi
say "ok"
