#!/usr/bin/env bash
# The worker's scheduled backup (worker/src/backup.rs), for real under
# `wrangler dev --test-scheduled`: notes written through the worker appear
# as plain files in R2 under backups/{vault}/ after a cron run; a run with
# no changes writes nothing; after one note is edited, a run writes only it.
#
#   WORKER_TEST_PORT=8799 scripts/worker-backup-test.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

PORT="${WORKER_TEST_PORT:-8799}"
STATE="$(mktemp -d)"
URL="http://127.0.0.1:$PORT"
LOG="$ROOT/.wrangler/dev-$PORT/log"
say() { printf 'worker-backup-test: %s\n' "$*"; }
fail() { printf 'worker-backup-test: FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() {
  scripts/worker-dev.sh stop "$PORT" || true
  rm -rf "$STATE"
}
trap cleanup EXIT

export WORKER_DEV_ARGS="--test-scheduled --var TESSERA_SNAPSHOT_DEBOUNCE:200ms --var TESSERA_SNAPSHOT_MAX_DELAY:1s"
SECRET="$(scripts/worker-dev.sh secret)"
export TESSERA_SECRET="$SECRET"
scripts/worker-dev.sh start "$PORT" "$STATE"

cargo build -q -p tessera-relay
RELAY="${CARGO_TARGET_DIR:-$ROOT/target}/debug/tessera-relay"
VAULT="backup-$RANDOM$RANDOM"
TOKEN="$("$RELAY" token --vault "$VAULT" --scope write --secret "$SECRET" 2>/dev/null)"
A="0123456789abcdef0123456789abcd01"
B="0123456789abcdef0123456789abcd02"
node worker/tests/backup.mjs note "$URL" "$VAULT" "$TOKEN" "$A" "Notes/a.md" $'alpha\n'
node worker/tests/backup.mjs note "$URL" "$VAULT" "$TOKEN" "$B" "b.md" $'beta\n'

# The backed-up object's content (empty when absent).
object() {
  npx wrangler r2 object get "tessera/backups/$VAULT/$1" --local --persist-to "$STATE" --pipe 2>/dev/null || true
}
runs() { grep -c "backup $VAULT:" "$LOG" || true; }
# One cron run; prints its log line.
trigger() {
  local before
  before="$(runs)"
  curl -fsS "$URL/__scheduled?cron=0+*/6+*+*+*" >/dev/null
  for _ in $(seq 300); do
    [[ "$(runs)" -gt "$before" ]] && break
    sleep 0.1
  done
  [[ "$(runs)" -gt "$before" ]] || fail "no backup log line for $VAULT after a cron run (log: $LOG)"
  grep "backup $VAULT:" "$LOG" | tail -1
}
# Runs the cron job until `object PATH` reads EXPECTED (snapshots land
# within the debounce; the loop only guards against a hang).
until_backed_up() {
  local path="$1" expected="$2"
  for _ in $(seq 30); do
    trigger >/dev/null
    [[ "$(object "$path")" == "$expected" ]] && return 0
    sleep 1
  done
  fail "$path never read $expected in the backup"
}

until_backed_up "Notes/a.md" "alpha"
until_backed_up "b.md" "beta"
say "notes written through the worker are plain files in R2 after a cron run"
manifest="$(object .tessera-backup.json)"
grep -q "\"vault\": \"$VAULT\"" <<<"$manifest" || fail "manifest does not name the vault: $manifest"

line="$(trigger)"
grep -q ": 0 written" <<<"$line" || fail "a run with no changes wrote files: $line"
say "a run with no changes writes nothing: $line"

node worker/tests/backup.mjs note "$URL" "$VAULT" "$TOKEN" "$A" "Notes/a.md" $'more\n'
before="$(runs)"
until_backed_up "Notes/a.md" $'alpha\nmore'
written="$(grep "backup $VAULT:" "$LOG" | tail -n +"$((before + 1))" | sed -n 's/.*: \([0-9]*\) written.*/\1/p' | paste -sd+ | bc)"
[[ "$written" == 1 ]] || fail "after one edit the runs wrote $written files, expected 1"
say "after one note is edited, the runs write exactly that file"
say "ok"
