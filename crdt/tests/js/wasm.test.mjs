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
  const update = a.applyEdits(JSON.stringify([{ from: 6, to: 8, insert: '🌍' }]));
  const delta = JSON.parse(b.applyRemote(update));
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

test('awareness updates encode and decode as JSON', () => {
  const bytes = core.encodeAwarenessUpdate(42, 3, JSON.stringify({ user: { name: 'Ada', color: '#30bced' } }));
  const entries = JSON.parse(core.decodeAwarenessUpdate(bytes));
  assert.deepEqual(entries, [{ client: 42, clock: 3, state: { user: { name: 'Ada', color: '#30bced' } } }]);
  const frame = core.decodeFrame(core.encodeAwarenessFrame(NOTE, bytes));
  assert.equal(frame.kind, 'awareness');
});

test('the index creates, renames and looks up entries by path', () => {
  const index = new core.WasmIndex(5);
  const created = index.create('Notes/a.md', 'note', '');
  index.rename(created.id, 'Notes/b.md');
  assert.equal(index.lookup('Notes/a.md'), undefined);
  assert.equal(JSON.parse(index.lookup('Notes/b.md')).id, created.id);
  const other = new core.WasmIndex(6);
  assert.deepEqual(JSON.parse(other.applyRemote(index.encodeState())), [created.id]);
  assert.equal(JSON.parse(other.list()).length, 1);
  assert.throws(() => index.create('../escape.md', 'note', ''), /path/i);
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
