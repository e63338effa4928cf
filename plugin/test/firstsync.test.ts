import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Relay, device, freshVaultId, settle, stopAll } from './harness';
import { MemoryVault } from '../src/core/engine/memory';

const EN = new URL('../../../shared/vaults/en', import.meta.url).pathname;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name.startsWith('.')) return [];
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

async function copyOfEn(): Promise<MemoryVault> {
  const v = new MemoryVault();
  for (const p of walk(EN)) {
    const rel = relative(EN, p);
    if (rel.endsWith('.md')) await v.writeText(rel, readFileSync(p, 'utf8'));
    else await v.writeBinary(rel, new Uint8Array(readFileSync(p)));
  }
  return v;
}

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

async function diverge(v: MemoryVault, seed: number, side: string): Promise<void> {
  const rand = rng(seed);
  const notes = [...v.snapshot().keys()].filter((p) => p.endsWith('.md')).sort();
  for (const path of notes) {
    if (rand() > 0.2) continue;
    const text = await v.readText(path);
    const paras = text.split('\n\n');
    const at = Math.floor(rand() * (paras.length + 1));
    paras.splice(at, 0, `Paragraph written only on ${side} (${Math.floor(rand() * 1e9)}) for this test.`);
    await v.writeText(path, paras.join('\n\n'));
  }
}

function paragraphCounts(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts)
    for (const p of t.split(/\n\s*\n/).map((x) => x.trim()).filter((x) => x.length > 20))
      counts.set(p, (counts.get(p) ?? 0) + 1);
  return counts;
}

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

describe('first sync of an existing vault on two devices', { timeout: 600_000 }, () => {
  // Whichever device loses the path must wait for the winner's text before
  // merging into it; it used to wait and then never merge when no further
  // index change came, leaving the conflict open and its paragraph only in
  // the retired copy.
  test('one note edited differently on two devices before they first meet keeps both paragraphs, once', {
    timeout: 60_000,
  }, async () => {
    const base = 'Shared first paragraph of the note.\n\nShared last paragraph of the note.\n';
    const va = new MemoryVault();
    const vb = new MemoryVault();
    await va.writeText('Note.md', base.replace('\n\nShared last', '\n\nWritten only on device A before syncing.\n\nShared last'));
    await vb.writeText('Note.md', base + '\nWritten only on device B before syncing.\n');
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A', { vault: va });
    try {
      await settle([a]);
      const b = await device(relay, vaultId, 'B', { vault: vb });
      try {
        await settle([a, b]);
        const text = va.snapshot().get('Note.md')!;
        assert.equal(vb.snapshot().get('Note.md'), text, 'equal on both devices');
        for (const p of ['Shared first paragraph', 'Shared last paragraph', 'only on device A', 'only on device B'])
          assert.equal(text.split(p).length - 1, 1, `${JSON.stringify(p)} once in ${JSON.stringify(text)}`);
        assert.equal(a.engine.docs.index.conflicts().length, 0, 'no path conflict left open');
        assert.equal(b.engine.docs.index.conflicts().length, 0, 'no path conflict left open on B');
      } finally {
        await stopAll([b]);
      }
    } finally {
      await stopAll([a]);
    }
  });

  for (const divergent of [false, true]) {
    test(`${divergent ? 'divergent' : 'identical'} copies of shared/vaults/en end equal, with no file and no paragraph duplicated`, {
      timeout: 300_000,
    }, async () => {
      const va = await copyOfEn();
      const vb = await copyOfEn();
      if (divergent) {
        await diverge(va, 7, 'A');
        await diverge(vb, 11, 'B');
      }
      const inputs = new Map<string, [string, string]>();
      for (const [p, t] of va.snapshot()) if (p.endsWith('.md')) inputs.set(p, [t, vb.snapshot().get(p)!]);
      const vaultId = freshVaultId();
      const a = await device(relay, vaultId, 'A', { vault: va });
      const b = await device(relay, vaultId, 'B', { vault: vb });
      try {
        await settle([a, b]);
        const fa = va.snapshot();
        const fb = vb.snapshot();
        assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort(), 'same files on both');
        assert.equal(fa.size, inputs.size + [...fa.keys()].filter((p) => !p.endsWith('.md')).length);
        for (const [path, [ta, tb]] of inputs) {
          const result = fa.get(path)!;
          assert.equal(fb.get(path), result, `${path} equal on both devices`);
          if (!divergent) assert.equal(result, ta, `${path} unchanged`);
          const before = paragraphCounts([ta]);
          for (const [p, n] of paragraphCounts([tb])) before.set(p, Math.max(n, before.get(p) ?? 0));
          // A line-based union may join two paragraphs where both sides added
          // text at one boundary, so count each input paragraph inside the result.
          const occurrences = (text: string, p: string) => text.split(p).length - 1;
          for (const p of before.keys()) {
            const n = Math.max(occurrences(ta, p), occurrences(tb, p));
            const times = occurrences(result, p);
            assert.ok(times <= n, `${path}: paragraph ${JSON.stringify(p.slice(0, 60))} appears ${times} times, at most ${n} in the inputs`);
          }
          for (const p of before.keys()) assert.ok(result.includes(p), `${path}: lost ${JSON.stringify(p.slice(0, 60))}`);
        }
        assert.equal(a.engine.docs.index.conflicts().length, 0);
        assert.equal(a.engine.docs.index.list().length, fa.size, 'one live index entry per file');
      } finally {
        // Even when an assertion fails: live engines keep the process from exiting.
        await stopAll([a, b]);
      }
    });
  }
});
