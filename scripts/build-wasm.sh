#!/usr/bin/env bash
# Builds the core crate to WASM for the plugin and Node:
#   cargo (profile "wasm") -> wasm-bindgen --target web -> wasm-opt -Oz (twice)
# Output in crdt/pkg/; sizes printed and written to bench/results/wasm-size.json.
#
#   TESSERA_WASM_FEATURES   cargo features to build with (default "wasm"; empty for none)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

FEATURES="${TESSERA_WASM_FEATURES-wasm}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT_DIR="crdt/pkg"
NAME="tessera_crdt"
WASM_OPT="node_modules/.bin/wasm-opt" # npm binaryen; never Debian's (it breaks wasm-bindgen output)

# wasm-opt reads the target_features section rustc writes, but says so
# explicitly: these are the features rustc 1.95 enables for
# wasm32-unknown-unknown. reference-types is required (wasm-bindgen's externref
# table); without it validation fails.
# A second -Oz pass finds more after the first one's inlining (about 0.7 KB;
# --converge gains 0.1 KB more for 40% more time). The producers section and
# any debug info are of no use in the plugin. Measured and left out:
# --low-memory-unused (-3 KB, but assumes the stack never reaches the low 1 KB),
# --zero-filled-memory (no gain), --gufa and -O3 (larger).
WASM_OPT_FLAGS=(-Oz -Oz --strip-debug --strip-producers
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)

say() { printf 'build-wasm: %s\n' "$*"; }
[[ -x "$WASM_OPT" ]] || { say "ERROR: $WASM_OPT missing: run scripts/setup.sh"; exit 1; }
command -v wasm-bindgen >/dev/null || { say "ERROR: wasm-bindgen missing: run scripts/setup.sh"; exit 1; }

cargo_args=(build -p tessera-crdt --lib --target wasm32-unknown-unknown --profile wasm)
[[ -n "$FEATURES" ]] && cargo_args+=(--features "$FEATURES")

# Panic locations embed source paths. Strip the machine-specific prefixes (the
# cargo registry, this checkout) so the module is smaller (about 2 KB) and does
# not carry the builder's directories. RUSTFLAGS applies to the wasm target
# only (--target is given), so host builds keep their cache. Added to, not
# replacing, the caller's RUSTFLAGS; CARGO_ENCODED_RUSTFLAGS allows paths with spaces.
sep=$'\x1f'
flags=()
if [[ -n "${CARGO_ENCODED_RUSTFLAGS:-}" ]]; then
  IFS="$sep" read -ra flags <<<"$CARGO_ENCODED_RUSTFLAGS"
elif [[ -n "${RUSTFLAGS:-}" ]]; then
  read -ra flags <<<"$RUSTFLAGS"
fi
for src in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  [[ -d "$src" ]] && flags+=("--remap-path-prefix=$src=")
done
flags+=("--remap-path-prefix=$ROOT/=")
CARGO_ENCODED_RUSTFLAGS="$(IFS="$sep"; printf '%s' "${flags[*]}")"
export CARGO_ENCODED_RUSTFLAGS
unset RUSTFLAGS

say "cargo ${cargo_args[*]}"
cargo "${cargo_args[@]}"

cargo_wasm="$TARGET_DIR/wasm32-unknown-unknown/wasm/$NAME.wasm"
say "wasm-bindgen --target web --out-dir $OUT_DIR"
rm -rf "$OUT_DIR"
wasm-bindgen --target web --out-dir "$OUT_DIR" "$cargo_wasm"

bg="$OUT_DIR/${NAME}_bg.wasm"
raw_bytes=$(stat -c %s "$bg")
say "wasm-opt ${WASM_OPT_FLAGS[*]}"
"$WASM_OPT" "${WASM_OPT_FLAGS[@]}" -o "$bg.opt" "$bg"
mv "$bg.opt" "$bg"
opt_bytes=$(stat -c %s "$bg")
gzip_bytes=$(gzip -9 -c "$bg" | wc -c)

kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
printf 'build-wasm: %-18s %9s bytes %8s KB\n' \
  "raw (wasm-bindgen)" "$raw_bytes" "$(kb "$raw_bytes")" \
  "wasm-opt -Oz" "$opt_bytes" "$(kb "$opt_bytes")" \
  "gzip -9" "$gzip_bytes" "$(kb "$gzip_bytes")"

mkdir -p bench/results
cat > bench/results/wasm-size.json <<EOF
{
  "features": "$FEATURES",
  "raw_bytes": $raw_bytes,
  "wasm_opt_bytes": $opt_bytes,
  "gzip_bytes": $gzip_bytes,
  "raw_kb": $(kb "$raw_bytes"),
  "wasm_opt_kb": $(kb "$opt_bytes"),
  "gzip_kb": $(kb "$gzip_bytes")
}
EOF
say "sizes written to bench/results/wasm-size.json; package in $OUT_DIR/"
