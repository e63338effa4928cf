// `npm test`: the engine tests against the real WASM build and the real
// relay binary. Builds what is missing first (the WASM via scripts/build-wasm.sh,
// the relay via cargo), then runs node's test runner with tsx.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const plugin = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(plugin, '..');
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

if (!existsSync(join(root, 'crdt/pkg/tessera_crdt_bg.wasm'))) run('scripts/build-wasm.sh', []);
const relay = process.env.TESSERA_RELAY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug/tessera-relay');
if (!existsSync(relay)) run('cargo', ['build', '-p', 'tessera-relay']);

const files = readdirSync(join(plugin, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => join('test', f));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', '--test-concurrency=1', ...files], {
  cwd: plugin,
  stdio: 'inherit',
  env: { ...process.env, TESSERA_RELAY_BIN: relay },
});
process.exit(r.status ?? 1);
