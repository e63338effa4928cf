// The WASM build of the core, loaded in Node exactly as the plugin loads it
// (bytes + initSync), doing what the plugin needs it to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = new URL('../../pkg/', import.meta.url);
const core = await import(new URL('tessera_crdt.js', pkg));
core.initSync({ module: readFileSync(fileURLToPath(new URL('tessera_crdt_bg.wasm', pkg))) });

const NOTE = '0123456789abcdef0123456789abcdef';

test('an edit on one device round-trips to another as an editor delta', () => {
  const a = new core.WasmNote(core.randomClientId());
  const b = new core.WasmNote(core.randomClientId());
  b.applyRemote(a.insert(0, 'héllo 👋 world'));
  const update = a.applyEdits([{ from: 6, to: 8, insert: '🌍' }]);
  const delta = b.applyRemote(update);
  assert.equal(b.text(), 'héllo 🌍 world');
  assert.equal(b.text(), a.text());
  assert.ok(delta.some((op) => op.insert === '🌍'), JSON.stringify(delta));
  // The delta is in UTF-16 units and reproduces the text from the old one.
  let text = 'héllo 👋 world', pos = 0;
  for (const op of delta) {
    if (op.retain) pos += op.retain;
    if (op.insert) { text = text.slice(0, pos) + op.insert + text.slice(pos); pos += op.insert.length; }
    if (op.delete) text = text.slice(0, pos) + text.slice(pos + op.delete);
  }
  assert.equal(text, b.text());
});

test('two devices get different random client ids (the wasm RNG is seeded)', () => {
  const ids = new Set(Array.from({ length: 50 }, () => core.randomClientId()));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.ok(Number.isSafeInteger(id) && id >= 0);
});

test('text from disk enters as a small diff, not a rewrite', () => {
  const note = new core.WasmNote(1);
  const big = 'paragraph\n'.repeat(5000);
  note.importText(big);
  const update = note.importText(big.replace('paragraph\n', 'paragraph edited\n'));
  assert.ok(update.length < 100, `update of ${update.length} bytes for a 7-byte edit`);
  assert.equal(note.importText(note.text()), undefined);
});

test('vault frames encode and decode through the core codec', () => {
  const note = new core.WasmNote(7);
  const f = core.decodeFrame(core.encodeUpdate(NOTE, note.insert(0, 'x')));
  assert.equal(f.doc, NOTE);
  assert.equal(f.kind, 'update');
  const step1 = core.decodeFrame(core.encodeStep1('index', note.stateVector()));
  assert.equal(step1.kind, 'step1');
  assert.deepEqual(step1.payload, note.stateVector());
  const since = core.decodeFrame(core.encodeChangesSince('epoch', 42));
  assert.equal(since.kind, 'changes-since');
  assert.equal(since.cursor, 42);
  assert.throws(() => core.decodeFrame(new Uint8Array([0xff, 0xff, 0xff])), /truncated|malformed|unknown/i);
});

test('awareness updates encode from JSON text and decode to objects', () => {
  const bytes = core.encodeAwarenessUpdate(42, 3, JSON.stringify({ user: { name: 'Ada', color: '#30bced' } }));
  const entries = core.decodeAwarenessUpdate(bytes);
  assert.deepEqual(entries, [{ client: 42, clock: 3, state: { user: { name: 'Ada', color: '#30bced' } } }]);
  const frame = core.decodeFrame(core.encodeAwarenessFrame(NOTE, bytes));
  assert.equal(frame.kind, 'awareness');
});

test('the index creates, renames and looks up entries by path', () => {
  const index = new core.WasmIndex(5);
  const created = index.create('Notes/a.md', 'note');
  index.rename(created.id, 'Notes/b.md');
  assert.equal(index.lookup('Notes/a.md'), undefined);
  assert.equal(index.lookup('Notes/b.md').id, created.id);
  const other = new core.WasmIndex(6);
  assert.deepEqual(other.applyRemote(index.encodeState()), [created.id]);
  assert.equal(other.list().length, 1);
  assert.throws(() => index.create('../escape.md', 'note'), /path/i);
});

test('blake3 matches the reference digest', () => {
  assert.equal(core.blake3Hex(new Uint8Array()), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
});

test('bad bytes are an error, not a crash, and leave the note unchanged', () => {
  const note = new core.WasmNote(1);
  note.insert(0, 'keep');
  assert.throws(() => note.applyRemote(new Uint8Array([1, 2, 3])));
  assert.equal(note.text(), 'keep');
  note.insert(4, ' going');
  assert.equal(note.text(), 'keep going');
});

test('index entries, metadata and conflicts cross as plain objects', () => {
  const a = new core.WasmIndex(11);
  const b = new core.WasmIndex(12);
  const blob = a.create('img/x.png', 'blob', { hash: 'ab'.repeat(32), size: 2048, mtime: 1_700_000_000_000 });
  assert.deepEqual(a.get(blob.id), {
    id: blob.id, path: 'img/x.png', kind: 'blob', hash: 'ab'.repeat(32), size: 2048, mtime: 1_700_000_000_000, deleted: false,
  });
  a.setMeta(blob.id, { size: 4096 }); // fields left out are removed
  assert.deepEqual(a.get(blob.id), { id: blob.id, path: 'img/x.png', kind: 'blob', size: 4096, deleted: false });
  assert.equal(a.get('0'.repeat(32)), undefined);

  // The same path created on two devices before they sync: one winner, everywhere.
  const idA = 'f'.repeat(32), idB = '0'.repeat(31) + '1';
  a.createWithId(idA, 'Notes/same.md', 'note', null);
  b.createWithId(idB, 'Notes/same.md', 'note');
  a.applyRemote(b.encodeState());
  assert.deepEqual(a.conflicts(), [{ path: 'Notes/same.md', winner: idB, losers: [idA] }]);
  assert.equal(a.lookup('Notes/same.md').id, idB);
  assert.deepEqual(a.list().map((e) => e.path), ['Notes/same.md', 'Notes/same.md', 'img/x.png']);
  a.retire(idA, idB);
  assert.deepEqual(a.conflicts(), []);
  assert.equal(a.get(idA).mergedInto, idB);
  assert.equal(a.get(idA).deleted, true);
});

test('malformed structured arguments are refused with the reason', () => {
  const index = new core.WasmIndex(13);
  assert.throws(() => index.create('a.md', 'note', { size: -1 }), /meta\.size must be an integer/);
  assert.throws(() => index.create('a.md', 'note', { hash: 7 }), /meta\.hash must be a string/);
  assert.throws(() => index.create('a.md', 'note', 'x'), /meta must be an object/);
  assert.throws(() => index.create('a.md', 'folder'), /kind must be/);
  assert.equal(index.list().length, 0);

  const note = new core.WasmNote(14);
  note.insert(0, 'abc');
  assert.throws(() => note.applyEdits('[]'), /edits must be an array/);
  assert.throws(() => note.applyEdits([{ from: 0, to: 1.5, insert: '' }]), /edits\[0\]\.to must be an integer/);
  assert.throws(() => note.applyEdits([{ from: 0, to: 0 }, { from: 1, to: 1, insert: 5 }]), /edits\[1\]\.insert must be a string/);
  assert.throws(() => note.applyEdits([{ from: 2, to: 1, insert: '' }]), /reversed or overlaps/);
  note.applyEdits([{ from: 1, to: 2, insert: 'X' }, { from: 3, to: 3 }]);
  assert.equal(note.text(), 'aXc');
});

test('an awareness state that is not JSON decodes as null', () => {
  const bytes = core.encodeAwarenessUpdate(1, 1, '{oops');
  assert.deepEqual(core.decodeAwarenessUpdate(bytes), [{ client: 1, clock: 1, state: null }]);
  assert.deepEqual(core.decodeAwarenessUpdate(core.encodeAwarenessUpdate(2, 5, 'null')), [{ client: 2, clock: 5, state: null }]);
});
