// Bundles the browser test page with esbuild: CodeMirror from npm, the core's
// WASM inlined (the plugin ships the same way). Output: tests/browser/dist/.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '../../../crdt/pkg/tessera_crdt_bg.wasm');
if (!existsSync(pkg)) {
  console.error(`missing ${pkg}: run scripts/build-wasm.sh`);
  process.exit(1);
}
await build({
  entryPoints: [join(here, 'page.ts'), join(here, 'attach-page.ts'), join(here, 'nested-page.ts')],
  outdir: join(here, 'dist'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  loader: { '.wasm': 'binary' },
  sourcemap: 'inline',
  logLevel: 'warning',
  // wasm-bindgen's default path uses import.meta.url; the page calls initSync with the inlined bytes instead.
  logOverride: { 'empty-import-meta': 'silent' },
});
