// Opening and first-syncing a large vault with the real engine, WASM and
// relay: how long and how much memory. Prints one JSON object.
// Usage: node --import tsx bench/vault.ts [NOTES]   (default 10000)
// The vault is built from shared/vaults/{en,ja}'s notes, repeated under
// numbered folders until NOTES notes exist.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Relay, device, freshVaultId, settle, stopAll, type Device } from '../test/harness';
import { MemoryVault } from '../src/core/engine/memory';

const NOTES = Number(process.argv[2] ?? 10_000);
const SHARED = new URL('../../../shared/vaults', import.meta.url).pathname;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name.startsWith('.')) return [];
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const sources = walk(SHARED)
  .filter((p) => p.endsWith('.md'))
  .map((p) => [relative(SHARED, p), readFileSync(p, 'utf8')] as const);

async function bigVault(): Promise<MemoryVault> {
  const v = new MemoryVault();
  for (let i = 0; i < NOTES; i++) {
    const [path, text] = sources[i % sources.length]!;
    await v.writeText(`copy-${Math.floor(i / sources.length)}/${path}`, text);
  }
  return v;
}

const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
function memory() {
  global.gc?.();
  const m = process.memoryUsage();
  // WASM memory is outside the JS heap but inside RSS and arrayBuffers.
  return { rss_mb: mb(m.rss), heap_mb: mb(m.heapUsed), external_mb: mb(m.external + m.arrayBuffers) };
}

let phase = 0;
async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await run();
  const ms = Math.round(performance.now() - t0);
  process.stderr.write(`bench/vault: phase ${++phase} took ${ms} ms\n`);
  return [out, ms];
}

const relay = await Relay.start();
const result: Record<string, unknown> = { notes: NOTES, bytes: 0 };
const devices: Device[] = [];
try {
  const base = memory();
  const va = await bigVault();
  result.bytes = [...va.snapshot().values()].reduce((n, t) => n + Buffer.byteLength(t), 0);
  const vaultId = freshVaultId();

  // First device: every note enters the CRDTs (open), then goes to the relay.
  const [a, openMs] = await timed(() => device(relay, vaultId, 'A', { vault: va }));
  devices.push(a);
  result.open_first_device = { ms: openMs, ...memory(), baseline_rss_mb: base.rss_mb };
  const [, uploadMs] = await timed(() => settle([a]));
  result.first_sync_upload = { ms: uploadMs, ...memory() };

  // Second device with an identical copy: 10k path conflicts, merged without duplication.
  const vb = await bigVault();
  const [b, openB] = await timed(() => device(relay, vaultId, 'B', { vault: vb }));
  devices.push(b);
  const [, syncB] = await timed(() => settle([a, b]));
  result.first_sync_identical_copy = { open_ms: openB, sync_ms: syncB, ...memory() };

  // Third device with an empty folder: downloads everything.
  const vc = new MemoryVault();
  const [c, openC] = await timed(() => device(relay, vaultId, 'C', { vault: vc }));
  devices.push(c);
  const [, syncC] = await timed(() => settle([c]));
  result.first_sync_empty_device = { open_ms: openC, sync_ms: syncC, files: vc.snapshot().size, ...memory() };

  // Reopening the first device from its local store (a restart of the app).
  await stopAll([a]);
  devices.shift();
  const [a2, reopenMs] = await timed(() => device(relay, vaultId, 'A', { vault: va, store: a.store }));
  devices.unshift(a2);
  const [, resyncMs] = await timed(() => settle([a2]));
  result.reopen_from_store = { ms: reopenMs, resync_ms: resyncMs, ...memory() };

  const [fa, fc] = [va.snapshot(), vc.snapshot()];
  const same = [...fc].every(([p, t]) => fa.get(p) === t) && fc.size === fa.size;
  result.converged = same && b.engine.docs.index.conflicts().length === 0;
} finally {
  await stopAll(devices);
  await relay.stop();
}
console.log(JSON.stringify(result));
