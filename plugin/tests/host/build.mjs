// Builds what the host harness loads: the plugin's main.js exactly as it
// ships (npm run build), and the host page (fake `obsidian` + CodeMirror).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
execFileSync('npm', ['run', '--silent', 'build'], { cwd: join(here, '../..'), stdio: 'inherit' });
await build({
  entryPoints: [join(here, 'host-page.ts')],
  outdir: join(here, 'dist'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: 'inline',
  logLevel: 'warning',
});
