// Issue 12.6: folder events and renames made outside Obsidian, over the real relay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, files, freshVaultId, settle, stopAll, type Device } from './harness';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

async function devices(n: number, vault = freshVaultId()): Promise<Device[]> {
  const out: Device[] = [];
  for (let i = 0; i < n; i++) out.push(await device(relay, vault, `device-${i}`));
  await settle(out);
  return out;
}

const idOf = (d: Device, path: string) => d.engine.docs.index.lookup(path)?.id;

describe('folders and outside renames', { timeout: 600_000 }, () => {
  for (const events of ['folder-only', 'files-then-folder'] as const) {
    test(`a folder deleted (${events}) deletes its notes everywhere, and a later remote edit to one of them does not bring it back`, { timeout: 60_000 }, async () => {
      const [a, b] = await devices(2);
      await a!.vault.writeText('F/one.md', 'one\n');
      await a!.vault.writeText('F/sub/two.md', 'two\n');
      await a!.vault.writeText('kept.md', 'kept\n');
      await settle([a!, b!]);
      const remote = await b!.engine.openNote('F/one.md');
      await a!.vault.deleteFolder('F', events);
      await settle([a!, b!]);
      assert.deepEqual(Object.keys(files(b!)).sort(), ['kept.md'].concat(b!.vault.has('F/one.md') ? ['F/one.md'] : []).sort());
      remote.applyLocalEdits([{ from: 0, to: 0, insert: 'late edit ' }]);
      remote.close();
      await settle([a!, b!]);
      assert.deepEqual(files(a!), { 'kept.md': 'kept\n' });
      assert.equal(idOf(a!, 'F/one.md'), undefined);
      assert.equal(idOf(a!, 'F/sub/two.md'), undefined);
      assert.equal(b!.vault.has('F/sub/two.md'), false);
      await stopAll([a!, b!]);
    });
  }

  test('a rename made outside Obsidian (delete, then create of the same text) keeps the note’s identity on every device', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('old.md', 'history\n');
    await settle([a!, b!]);
    const id = idOf(a!, 'old.md');
    assert.ok(id);
    await a!.vault.delete('old.md');
    await a!.vault.writeText('new.md', 'history\n');
    await settle([a!, b!]);
    assert.equal(idOf(a!, 'new.md'), id, 'same note id after the rename');
    assert.equal(idOf(b!, 'new.md'), id);
    assert.equal(a!.engine.docs.index.list().filter((e) => !e.deleted).length, 1, 'no second entry');
    assert.deepEqual(files(b!), { 'new.md': 'history\n' });
    // The renamed note still syncs as itself.
    const s = await b!.engine.openNote('new.md');
    s.applyLocalEdits([{ from: s.text().length, to: s.text().length, insert: 'more\n' }]);
    s.close();
    await settle([a!, b!]);
    assert.deepEqual(files(a!), { 'new.md': 'history\nmore\n' });
    await stopAll([a!, b!]);
  });

  test('a delete not followed by a create of the same text is synced as a delete', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('gone.md', 'bye\n');
    await settle([a!, b!]);
    await a!.vault.delete('gone.md');
    await a!.vault.writeText('other.md', 'different text\n');
    await settle([a!, b!]);
    assert.deepEqual(files(b!), { 'other.md': 'different text\n' });
    assert.equal(idOf(b!, 'gone.md'), undefined);
    await stopAll([a!, b!]);
  });
});
