// Cursor positions interoperate with stock Yjs: a relative position made by
// the npm `yjs` package resolves in the core's WASM to the offset Yjs gives
// it, and the core's positions resolve in Yjs, after concurrent edits.
// Needs crdt/pkg (scripts/build-wasm.sh) and yjs in the root node_modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';

const pkg = new URL('../../pkg/', import.meta.url);
const core = await import(new URL('tessera_crdt.js', pkg));
core.initSync({ module: readFileSync(fileURLToPath(new URL('tessera_crdt_bg.wasm', pkg))) });

/** The name of a note's Y.Text (crdt/src/note.rs `CONTENT`). */
const CONTENT = 'content';

const yDoc = (clientID) => {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  return doc;
};

/** Brings `to` (a Y.Doc or a WasmNote) up to date with `from`. */
const sync = (from, to) => {
  const sv = to instanceof Y.Doc ? Y.encodeStateVector(to) : to.stateVector();
  const update = from instanceof Y.Doc ? Y.encodeStateAsUpdate(from, sv) : from.diffSince(sv);
  if (to instanceof Y.Doc) Y.applyUpdate(to, update);
  else to.applyRemote(update);
};

const yjsResolve = (rpos, doc) => {
  const abs = Y.createAbsolutePositionFromRelativePosition(rpos, doc);
  return abs && abs.type === doc.getText(CONTENT) ? abs.index : undefined;
};

/** A Yjs device and a Tessera device with the same text. */
const pair = (text) => {
  const ydoc = yDoc(101);
  ydoc.getText(CONTENT).insert(0, text);
  const note = new core.WasmNote(202);
  sync(ydoc, note);
  assert.equal(note.text(), text);
  return { ydoc, note };
};

/** Concurrent inserts before `at` on both devices and on a third Yjs device, then a full sync. */
const editConcurrently = (ydoc, note) => {
  const third = yDoc(303);
  sync(ydoc, third);
  third.getText(CONTENT).insert(0, 'third ');
  ydoc.getText(CONTENT).insert(0, 'yjs ');
  note.insert(0, 'wasm 👋 ');
  for (const [a, b] of [[third, ydoc], [third, note], [ydoc, note], [note, ydoc]]) sync(a, b);
  assert.equal(note.text(), ydoc.getText(CONTENT).toString());
};

test('a relative position made by Yjs resolves in the core to the offset Yjs gives it after concurrent inserts', () => {
  const { ydoc, note } = pair('hello world');
  const ytext = ydoc.getText(CONTENT);
  const positions = [0, 5, 6, 11].flatMap((i) =>
    [0, -1].map((assoc) => ({ i, assoc, rpos: Y.createRelativePositionFromTypeIndex(ytext, i, assoc) })),
  );
  editConcurrently(ydoc, note);
  for (const { i, assoc, rpos } of positions) {
    const expected = yjsResolve(rpos, ydoc);
    assert.notEqual(expected, undefined);
    const label = `index ${i} assoc ${assoc}`;
    assert.equal(note.resolveSticky(Y.relativePositionToJSON(rpos)), expected, `${label} (JSON)`);
    // A Y.RelativePosition stringified as is (y-codemirror.next puts the
    // object itself in awareness, so its nulls travel too).
    assert.equal(note.resolveSticky(JSON.parse(JSON.stringify(rpos))), expected, `${label} (stringified)`);
    assert.equal(note.resolveSticky(JSON.stringify(rpos)), expected, `${label} (JSON text)`);
    assert.equal(note.resolveSticky(Y.encodeRelativePosition(rpos)), expected, `${label} (binary)`);
  }
  // The end of "hello" (offset 5, assoc 0) moved with the word.
  const helloEnd = ytext.toString().indexOf('hello') + 5;
  assert.equal(note.resolveSticky(Y.relativePositionToJSON(positions[2].rpos)), helloEnd);
});

test('a relative position made by the core resolves in Yjs after concurrent inserts', () => {
  const { ydoc, note } = pair('hello world');
  const positions = [0, 5, 6, 11].flatMap((i) =>
    [0, -1].map((assoc) => ({
      i,
      assoc,
      json: note.stickyAt(i, assoc),
      bytes: note.stickyBinaryAt(i, assoc),
    })),
  );
  editConcurrently(ydoc, note);
  for (const { i, assoc, json, bytes } of positions) {
    const label = `index ${i} assoc ${assoc}`;
    const fromJson = yjsResolve(Y.createRelativePositionFromJSON(json), ydoc);
    assert.notEqual(fromJson, undefined, label);
    assert.equal(fromJson, note.resolveSticky(json), label);
    assert.equal(yjsResolve(Y.decodeRelativePosition(bytes), ydoc), fromJson, `${label} (binary)`);
  }
  const helloEnd = note.text().indexOf('hello') + 5;
  assert.equal(yjsResolve(Y.createRelativePositionFromJSON(positions[2].json), ydoc), helloEnd);
});

test('the core writes the same relative positions as Yjs, JSON and binary, at every offset', () => {
  const { ydoc, note } = pair('ab 🌍 cd');
  note.insert(2, 'XY');
  sync(note, ydoc);
  const ytext = ydoc.getText(CONTENT);
  assert.equal(note.text(), 'abXY 🌍 cd');
  for (let i = 0; i <= note.length; i++) {
    for (const assoc of [0, -1]) {
      if (i === 6) {
        // Inside the emoji: the core refuses (Yjs would split the character).
        assert.throws(() => note.stickyAt(i, assoc), /surrogate/);
        continue;
      }
      const rpos = Y.createRelativePositionFromTypeIndex(ytext, i, assoc);
      const ours = note.stickyAt(i, assoc);
      // Plain data on both sides (Yjs's `item` is an `ID` instance).
      assert.deepEqual(ours, JSON.parse(JSON.stringify(Y.relativePositionToJSON(rpos))), `index ${i} assoc ${assoc}`);
      assert.deepEqual(note.stickyBinaryAt(i, assoc), Y.encodeRelativePosition(rpos), `index ${i} assoc ${assoc}`);
    }
  }
  assert.deepEqual(note.stickyAt(note.length), { tname: CONTENT, assoc: 0 });
});

test('malformed positions from other devices resolve to undefined without throwing', () => {
  const { note } = pair('hello');
  const bad = [
    undefined,
    null,
    42,
    'not json',
    '{}',
    [],
    {},
    { assoc: 0 },
    { item: { client: 202 } },
    { item: { client: -1, clock: 0 } },
    { item: { client: 2 ** 53, clock: 0 } },
    { item: { client: 101, clock: 2 ** 32 } },
    { item: { client: 101, clock: 99 } },
    { item: { client: '101', clock: 0 } },
    { item: { client: 101, clock: 0 }, assoc: 'x' },
    { tname: 'other' },
    { tname: 5 },
    { type: { client: 101, clock: 0 } },
    new Uint8Array([]),
    new Uint8Array([0, 0xff]),
    new Uint8Array([9, 1, 1]),
  ];
  for (const value of bad) assert.equal(note.resolveSticky(value), undefined, JSON.stringify(value));
  assert.throws(() => note.stickyAt(6), /past the end/);
});
