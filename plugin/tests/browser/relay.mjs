// Starts the real relay binary (target/debug/tessera-relay) for a test:
// a fresh data dir, a free port, a write token. Builds it when missing.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The relay binary: $TESSERA_RELAY_BIN, else the workspace's debug build (built if missing). */
export function relayBinary() {
  if (process.env.TESSERA_RELAY_BIN) return process.env.TESSERA_RELAY_BIN;
  const bin = join(repo, 'target/debug/tessera-relay');
  if (!existsSync(bin)) {
    execFileSync('cargo', ['build', '-p', 'tessera-relay'], { cwd: repo, stdio: 'inherit' });
  }
  return bin;
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** A running relay; `stop()` ends it and removes its data. */
export async function startRelay({ vault }) {
  const bin = relayBinary();
  const data = mkdtempSync(join(tmpdir(), 'tessera-editor-'));
  const secret = 'editor-browser-test-secret-0123456789';
  const port = await freePort();
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', data, '--secret', secret], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Test vaults are minted offline, never created by an admin.
    env: { ...process.env, TESSERA_AUTO_CREATE_VAULTS: 'true' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  const base = `http://127.0.0.1:${port}`;
  // Poll /healthz until the relay answers; bounded by the test's own timeout.
  for (;;) {
    if (child.exitCode !== null) throw new Error(`relay exited: ${stderr}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = execFileSync(bin, ['token', '--vault', vault, '--scope', 'write'], {
    env: { ...process.env, TESSERA_SECRET: secret },
    encoding: 'utf8',
  }).trim();
  return {
    wsUrl: `ws://127.0.0.1:${port}/v1/vaults/${vault}/ws?token=${encodeURIComponent(token)}`,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(data, { recursive: true, force: true });
    },
  };
}
