// Issue 12: the ways an open note could lose or duplicate text, each as the
// engine sees it from the editor side (handles from openNote) over the real relay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, freshVaultId, settle, stopAll, type Device } from './harness';
import type { DeltaOp } from '../src/core/contract';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

async function devices(n: number, vault = freshVaultId()): Promise<Device[]> {
  const out: Device[] = [];
  for (let i = 0; i < n; i++) out.push(await device(relay, vault, `device-${i}`));
  await settle(out);
  return out;
}

const typeAtEnd = (s: { text(): string; applyLocalEdits(e: { from: number; to: number; insert: string }[]): void }, insert: string) =>
  s.applyLocalEdits([{ from: s.text().length, to: s.text().length, insert }]);

describe('an open note loses no text', { timeout: 600_000 }, () => {
  test('an autosave reaching the disk queue forty keystrokes late is recognised as the editor\'s own and reverts nothing', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('auto.md', 'start\n');
    await settle([a!, b!]);
    const s = await a!.engine.openNote('auto.md');
    typeAtEnd(s, 'k0 ');
    const autosaved = s.text();
    for (let i = 1; i < 40; i++) typeAtEnd(s, `k${i} `);
    const typed = s.text();
    await a!.vault.writeText('auto.md', autosaved); // Obsidian's save of the buffer as it was then
    await settle([a!, b!]);
    assert.equal(s.text(), typed);
    s.close();
    await settle([a!, b!]);
    assert.equal(b!.vault.snapshot().get('auto.md'), typed);
    await stopAll([a!, b!]);
  });

  test('the same note in two panes: closing one pane leaves the other synced, and remote changes reach one editor only', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('two.md', 'shared\n');
    await settle([a!, b!]);
    const left = await a!.engine.openNote('two.md');
    const right = await a!.engine.openNote('two.md');
    assert.notEqual(left, right, 'each pane has its own handle');
    const seen: DeltaOp[][][] = [[], []];
    left.onRemoteChange((d) => seen[0]!.push(d));
    right.onRemoteChange((d) => seen[1]!.push(d));
    const remote = await b!.engine.openNote('two.md');
    typeAtEnd(remote, 'from b\n');
    await settle([a!, b!]);
    assert.deepEqual(seen.map((x) => x.length), [1, 0], 'one pane receives it; the host mirrors it into the other');
    right.close();
    assert.equal(left.closed, false);
    typeAtEnd(left, 'still typing\n');
    await settle([a!, b!]);
    typeAtEnd(remote, 'b again\n');
    await settle([a!, b!]);
    assert.equal(left.text(), 'shared\nfrom b\nstill typing\nb again\n');
    assert.equal(remote.text(), left.text());
    assert.deepEqual(seen.map((x) => x.length), [2, 0]);
    left.close();
    remote.close();
    await stopAll([a!, b!]);
  });

  test('a collaborator renames the note being typed in: the session follows the note and keeps syncing, one index entry', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('before.md', 'text\n');
    await settle([a!, b!]);
    const s = await a!.engine.openNote('before.md');
    await b!.vault.rename('before.md', 'after.md');
    typeAtEnd(s, 'typed during the rename\n');
    await settle([a!, b!]);
    assert.equal(s.path, 'after.md');
    assert.equal(s.shows?.('after.md'), true);
    assert.equal(s.closed, false);
    typeAtEnd(s, 'typed after\n');
    await settle([a!, b!]);
    assert.equal(b!.vault.snapshot().get('after.md'), 'text\ntyped during the rename\ntyped after\n');
    assert.equal(a!.engine.docs.index.list().filter((e) => !e.deleted).length, 1);
    assert.equal(a!.vault.snapshot().has('before.md'), false);
    s.close();
    await stopAll([a!, b!]);
  });

  test('a local rename of an open note: while the rename event waits in the queue the editor at the new path still shows the note', { timeout: 60_000 }, async () => {
    const [a] = await devices(1);
    await a!.vault.writeText('old.md', 'x\n');
    await settle([a!]);
    const s = await a!.engine.openNote('old.md');
    const renamed = a!.vault.rename('old.md', 'new.md');
    assert.equal(s.shows?.('new.md'), true);
    await renamed;
    await settle([a!]);
    assert.equal(s.path, 'new.md');
    assert.equal(s.shows?.('new.md'), true);
    s.close();
    await stopAll([a!]);
  });

  test('an editor opening with typing the disk never saw keeps it: the CRDT takes the typing instead of overwriting the editor', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('unsaved.md', 'one\ntwo\n');
    await settle([a!, b!]);
    // The editor loaded 'one\ntwo\n' from disk and was typed in before the session opened.
    const s = await a!.engine.openNote('unsaved.md', 'one\ntwo\ntyped before attach\n');
    assert.equal(s.text(), 'one\ntwo\ntyped before attach\n');
    s.close();
    await settle([a!, b!]);
    assert.equal(b!.vault.snapshot().get('unsaved.md'), 'one\ntwo\ntyped before attach\n');
    await stopAll([a!, b!]);
  });

  test('an editor opening on the text it loaded from disk takes the CRDT text, which is newer', { timeout: 60_000 }, async () => {
    const [a] = await devices(1);
    await a!.vault.writeText('plain.md', 'disk\n');
    await settle([a!]);
    const first = await a!.engine.openNote('plain.md');
    typeAtEnd(first, 'crdt\n');
    const s = await a!.engine.openNote('plain.md', 'disk\n');
    assert.equal(s.text(), 'disk\ncrdt\n');
    s.close();
    first.close();
    await stopAll([a!]);
  });
});
