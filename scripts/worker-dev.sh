#!/usr/bin/env bash
# Runs the Cloudflare Worker locally under `wrangler dev` (workerd from npm:
# Durable Objects, SQLite storage, hibernating WebSockets and R2 all local).
#
#   scripts/worker-dev.sh start [PORT] [PERSIST_DIR]   build, start, wait for /healthz
#   scripts/worker-dev.sh stop [PORT]                  stop the one started on PORT
#   scripts/worker-dev.sh secret                       print the local token secret
#
# The token secret lives in .dev.vars (git-ignored), generated on first use;
# TESSERA_SECRET in the environment overrides it. State persists in
# PERSIST_DIR (default .wrangler/state-test), so a restart keeps the vaults.
# WORKER_DEV_ARGS adds arguments (e.g. --var TESSERA_SNAPSHOT_DEBOUNCE:200ms).
# Test suites use a fresh vault per case, so vaults are created on first use
# (TESSERA_AUTO_CREATE_VAULTS); WORKER_DEV_VAULTS=admin runs it as deployed,
# where only `default` and vaults an admin created exist.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

CMD="${1:-}"
PORT="${2:-8799}"
PERSIST="${3:-$ROOT/.wrangler/state-test}"
RUN="$ROOT/.wrangler/dev-$PORT"
die() { printf 'worker-dev: %s\n' "$*" >&2; exit 1; }

secret() {
  if [[ -n "${TESSERA_SECRET:-}" ]]; then
    printf 'TESSERA_SECRET=%s\n' "$TESSERA_SECRET" >.dev.vars
  elif ! grep -q '^TESSERA_SECRET=' .dev.vars 2>/dev/null; then
    # 32 random bytes, base64url: the format `tessera-relay` generates.
    printf 'TESSERA_SECRET=%s\n' "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" >.dev.vars
  fi
  sed -n 's/^TESSERA_SECRET=//p' .dev.vars
}

start() {
  mkdir -p "$RUN" "$PERSIST"
  if [[ -f "$RUN/pid" ]] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
    die "already running on port $PORT (pid $(cat "$RUN/pid")); stop it first"
  fi
  secret >/dev/null
  local vaults="--var TESSERA_AUTO_CREATE_VAULTS:true"
  [[ "${WORKER_DEV_VAULTS:-}" == admin ]] && vaults=""
  # setsid: its own process group, so stop ends wrangler and workerd together.
  setsid npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$PERSIST" \
    --show-interactive-dev-session=false ${WORKER_DEV_ARGS:-} $vaults >"$RUN/log" 2>&1 </dev/null &
  echo $! >"$RUN/pid"
  local deadline=$((SECONDS + ${WORKER_DEV_TIMEOUT:-900}))
  until curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
      tail -40 "$RUN/log" >&2
      die "wrangler dev exited (log: $RUN/log)"
    fi
    if ((SECONDS > deadline)); then
      tail -40 "$RUN/log" >&2
      stop
      die "no /healthz on port $PORT after ${WORKER_DEV_TIMEOUT:-900}s (log: $RUN/log)"
    fi
    sleep 1
  done
  printf 'worker-dev: http://127.0.0.1:%s (pid %s, state %s, log %s)\n' "$PORT" "$(cat "$RUN/pid")" "$PERSIST" "$RUN/log"
}

stop() {
  [[ -f "$RUN/pid" ]] || return 0
  local pid
  pid="$(cat "$RUN/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/pid"
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  secret) secret ;;
  *) die "usage: scripts/worker-dev.sh start|stop [PORT] [PERSIST_DIR] | secret" ;;
esac
