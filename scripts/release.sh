#!/usr/bin/env bash
# Builds the static relay binary: dist/tessera-relay-x86_64-linux-musl (+ .sha256).
#
# Needs: the rustup target (`rustup target add x86_64-unknown-linux-musl`)
# and musl-gcc (Debian/Ubuntu: `apt-get install musl-tools`), because
# aws-lc-sys (the AWS SDK's TLS crypto) and ring compile C code, which must
# be built against musl's headers to link into a static binary.
#
#   scripts/release.sh            # build and check
#   scripts/release.sh --check    # only say what is missing
set -euo pipefail

TARGET=x86_64-unknown-linux-musl
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/dist"

missing=0
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    echo "missing: the Rust target $TARGET — run: rustup target add $TARGET" >&2
    missing=1
fi
if ! command -v musl-gcc >/dev/null; then
    echo "missing: musl-gcc (C compiler for aws-lc-sys and ring) — run: apt-get install musl-tools" >&2
    missing=1
fi
if [ "$missing" = 1 ]; then
    exit 1
fi
if [ "${1:-}" = "--check" ]; then
    echo "ready to build $TARGET"
    exit 0
fi

cd "$ROOT"
# The cc crate finds musl-gcc by itself for this target; saying so keeps a
# cross toolchain from being picked up instead. Static by default on musl.
export CC_x86_64_unknown_linux_musl=musl-gcc
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER="${CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER:-cc}"
cargo build --release --locked -p tessera-relay --target "$TARGET"

BIN="$ROOT/target/$TARGET/release/tessera-relay"
if command -v file >/dev/null && ! file "$BIN" | grep -q "static"; then
    echo "error: $BIN is not statically linked:" >&2
    file "$BIN" >&2
    exit 1
fi
"$BIN" --version

mkdir -p "$OUT"
cp "$BIN" "$OUT/tessera-relay-x86_64-linux-musl"
strip "$OUT/tessera-relay-x86_64-linux-musl" 2>/dev/null || true
(cd "$OUT" && sha256sum tessera-relay-x86_64-linux-musl > tessera-relay-x86_64-linux-musl.sha256)
ls -l "$OUT"/tessera-relay-x86_64-linux-musl*
