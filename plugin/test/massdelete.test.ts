// A start-up scan that does not see most of the vault (iCloud evicted the
// files, a slow mount, an SD card not yet ready) must not turn them into
// synced deletes: the deletes are held and the user decides (issue 12.9).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, freshVaultId, settle, stopAll, type Device } from './harness';
import { MemoryStore, MemoryVault } from '../src/core/engine/memory';
import { statusText } from '../src/core/ui/status-text';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

/** Device A syncs `n` notes with B, stops, loses `missing` of them from disk, starts again. */
async function restartMissing(n: number, missing: number): Promise<{ a: Device; b: Device; vaultId: string }> {
  const vaultId = freshVaultId();
  const va = new MemoryVault();
  const store = new MemoryStore();
  for (let i = 0; i < n; i++) await va.writeText(`notes/n${i}.md`, `note ${i}\n`);
  const first = await device(relay, vaultId, 'A', { vault: va, store });
  const b = await device(relay, vaultId, 'B');
  await settle([first, b]);
  await first.engine.stop();
  for (let i = 0; i < missing; i++) await va.delete(`notes/n${i}.md`);
  const a = await device(relay, vaultId, 'A', { vault: va, store });
  await settle([a, b]);
  return { a, b, vaultId };
}

describe('mass-delete guard at start-up', () => {
  test('a scan missing 80 % of 20 synced notes holds the 16 deletes; the other device keeps every note', { timeout: 60_000 }, async () => {
    const { a, b } = await restartMissing(20, 16);
    try {
      assert.equal(a.engine.heldDeletes().length, 16);
      assert.equal(b.vault.snapshot().size, 20, 'nothing deleted elsewhere');
      assert.equal(a.engine.docs.index.list().length, 20, 'the index still lists every note');
      assert.match(statusText(a.engine.getStatus()).text, /^Deletes held \(16\)$/);
    } finally {
      await stopAll([a, b]);
    }
  });

  test('answering "restore" writes the missing notes back from the synced state', { timeout: 60_000 }, async () => {
    const { a, b } = await restartMissing(20, 16);
    try {
      await a.engine.resolveHeldDeletes('restore');
      await settle([a, b]);
      assert.equal(a.vault.snapshot().size, 20);
      assert.equal(a.vault.snapshot().get('notes/n3.md'), 'note 3\n');
      assert.equal(b.vault.snapshot().size, 20);
      assert.equal(a.engine.heldDeletes().length, 0);
      assert.doesNotMatch(statusText(a.engine.getStatus()).text, /Deletes held/);
    } finally {
      await stopAll([a, b]);
    }
  });

  test('answering "delete" syncs the deletes of the files still missing, but not of one that came back meanwhile', { timeout: 60_000 }, async () => {
    const { a, b } = await restartMissing(20, 16);
    try {
      // The slow mount delivers one file before the user answers.
      await a.vault.writeText('notes/n0.md', 'note 0\n');
      await a.engine.resolveHeldDeletes('delete');
      await settle([a, b]);
      assert.equal(b.vault.snapshot().size, 5);
      assert.equal(b.vault.snapshot().get('notes/n0.md'), 'note 0\n');
      assert.equal(a.vault.snapshot().size, 5);
    } finally {
      await stopAll([a, b]);
    }
  });

  test('a scan missing 2 of 20 notes (ordinary deletes while closed) syncs them without asking', { timeout: 60_000 }, async () => {
    const { a, b } = await restartMissing(20, 2);
    try {
      assert.equal(a.engine.heldDeletes().length, 0);
      assert.equal(b.vault.snapshot().size, 18);
    } finally {
      await stopAll([a, b]);
    }
  });
});
