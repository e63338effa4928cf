// The path policy on the device: an index that already holds hostile paths
// (old data, or a malicious relay) makes the engine write nothing outside
// the vault and nothing in its config folder, and list those entries as
// skipped with a reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { Relay, device, freshVaultId, settle, stopAll } from './harness';
import { MemoryStore, MemoryVault } from '../src/core/engine/memory';
import { SyncFilter } from '../src/core/engine/filter';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

const HOSTILE = [
  '.obsidian/plugins/evil/main.js',
  '.OBSIDIAN/plugins/evil/main.js',
  '.config-x/plugins/evil/main.js',
  '.trash/x.md',
  '../outside.md',
  '/abs.md',
  'C:\\x.md',
  'a\\b.md',
  'CON.md',
  'x\u0000.md',
  'a//b.md',
  './x.md',
];

let idSeq = 0;
const fileId = () => (idSeq++).toString(16).padStart(32, '0');

/** A stored index (what the engine keeps in its LocalStore) holding `paths`. */
function indexState(paths: string[]): Uint8Array {
  const doc = new Y.Doc();
  const files = doc.getMap('files');
  doc.transact(() => {
    for (const path of paths) {
      const entry = new Y.Map<unknown>();
      entry.set('path', path);
      entry.set('kind', 'note');
      files.set(fileId(), entry);
    }
  });
  return Y.encodeStateAsUpdate(doc);
}

describe('path policy on the device', { timeout: 120_000 }, () => {
  test('hostile paths already in the index are never written, renamed or trashed, and are listed as skipped', async () => {
    const vaultId = freshVaultId();
    const store = new MemoryStore();
    await store.put('doc/index', indexState(HOSTILE));
    const vault = new MemoryVault();
    const config = { engine: { filter: new SyncFilter({ configDir: '.config-x', ignoreGlobs: [], syncAttachments: true, maxAttachmentBytes: Infinity }) } };
    const a = await device(relay, vaultId, 'A', { store, vault, ...config });
    const b = await device(relay, vaultId, 'B');
    await b.vault.writeText('fine.md', 'fine\n');
    await settle([a, b]);
    assert.deepEqual([...a.vault.snapshot().keys()], ['fine.md'], 'only the safe note is on disk');
    const skipped = a.engine.disk.skippedFiles();
    for (const path of HOSTILE) {
      assert.match(skipped.get(path) ?? '', /^unsafe path: /, `${JSON.stringify(path)} is listed as skipped`);
    }
    await stopAll([a, b]);
  });

  test('two entries whose names differ only in case or normalisation are shown as a collision, not written in turn', async () => {
    const vaultId = freshVaultId();
    const store = new MemoryStore();
    await store.put('doc/index', indexState(['Case.md', 'case.md', 'Caf\u00e9.md', 'Cafe\u0301.md']));
    const a = await device(relay, vaultId, 'A', { store });
    await settle([a]);
    const collisions = [...a.engine.disk.skippedFiles()].filter(([, why]) => why.includes('case-insensitive'));
    assert.deepEqual(collisions.map(([p]) => p).sort(), ['Cafe\u0301.md', 'case.md'].sort());
    await stopAll([a]);
  });

  test('a local file with an unsafe path is not uploaded', async () => {
    const vaultId = freshVaultId();
    const vault = new MemoryVault();
    await vault.writeText('.obsidian/plugins/mine/main.js', 'code');
    await vault.writeText('.Obsidian/app.json', '{}');
    await vault.writeText('note.md', 'hi\n');
    const a = await device(relay, vaultId, 'A', { vault });
    const b = await device(relay, vaultId, 'B');
    await settle([a, b]);
    assert.deepEqual([...b.vault.snapshot().keys()], ['note.md']);
    await stopAll([a, b]);
  });
});
