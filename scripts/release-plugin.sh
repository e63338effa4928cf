#!/usr/bin/env bash
# Packages the Obsidian plugin for a release:
#   dist/release/<version>/main.js, manifest.json, styles.css   (release assets, at the root:
#                                                                 what BRAT and Obsidian download)
#   dist/release/<version>/versions.json                        (plugin version → minAppVersion)
#   dist/release/<version>/tessera-sync-<version>.zip           (tessera-sync/ with the three files,
#                                                                 for unzipping into .obsidian/plugins)
# Refuses to package when manifest.json, package.json and versions.json disagree.
# Builds the WASM core first when crdt/pkg is missing. Upload the files of the
# version folder as the assets of a GitHub release tagged exactly <version>.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLUGIN="$ROOT/plugin"
cd "$ROOT"

VERSION="$(node "$PLUGIN/scripts/release-check.mjs")"
ID="$(node -p "require('$PLUGIN/manifest.json').id")"
OUT="$ROOT/dist/release/$VERSION"

[ -f crdt/pkg/tessera_crdt_bg.wasm ] || scripts/build-wasm.sh
(cd "$PLUGIN" && npm run --silent build)

rm -rf "$OUT"
mkdir -p "$OUT/$ID"
for f in main.js manifest.json styles.css versions.json; do cp "$PLUGIN/$f" "$OUT/$f"; done
for f in main.js manifest.json styles.css; do cp "$PLUGIN/$f" "$OUT/$ID/$f"; done
(cd "$OUT" && rm -f "$ID-$VERSION.zip" && zip -q -X -r "$ID-$VERSION.zip" "$ID" && rm -rf "$ID")

# What was packaged is what was checked.
node -e "
const m = require('$OUT/manifest.json'), v = require('$OUT/versions.json');
if (m.version !== '$VERSION' || v[m.version] !== m.minAppVersion) { console.error('packaged metadata disagree'); process.exit(1); }"
(cd "$OUT" && sha256sum main.js manifest.json styles.css versions.json "$ID-$VERSION.zip" > SHA256SUMS)
echo "release $VERSION in ${OUT#$ROOT/}:"
ls -l "$OUT"
