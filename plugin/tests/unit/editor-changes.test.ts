// The pure halves of the CodeMirror binding: change sets → contract edits,
// CRDT deltas → change specs, and the attach-time replacement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeSet, EditorState, Text } from '@codemirror/state';
import {
  changesToEdits,
  deltaToChanges,
  DeltaMismatch,
  replacementBetween,
} from '../../src/core/editor/changes.ts';
import type { DeltaOp, TextEdit } from '../../src/core/contract.ts';

/** Applies contract edits (old-document coordinates) the way the core does. */
function applyEdits(text: string, edits: TextEdit[]): string {
  let out = '';
  let pos = 0;
  for (const e of edits) {
    out += text.slice(pos, e.from) + e.insert;
    pos = e.to;
  }
  return out + text.slice(pos);
}

/** Applies a delta the way a Yjs observer describes it. */
function applyDelta(text: string, delta: DeltaOp[]): string {
  let out = '';
  let pos = 0;
  for (const op of delta) {
    if ('retain' in op) {
      out += text.slice(pos, pos + op.retain);
      pos += op.retain;
    } else if ('insert' in op) out += op.insert;
    else pos += op.delete;
  }
  return out + text.slice(pos);
}

test('a change set with several changes becomes edits in the old document’s coordinates, ascending', () => {
  const doc = 'hello world';
  const changes = ChangeSet.of(
    [
      { from: 6, to: 11, insert: 'there' },
      { from: 0, insert: '>> ' },
      { from: 2, to: 3 },
    ],
    doc.length,
  );
  const edits = changesToEdits(changes);
  assert.deepEqual(edits, [
    { from: 0, to: 0, insert: '>> ' },
    { from: 2, to: 3, insert: '' },
    { from: 6, to: 11, insert: 'there' },
  ]);
  assert.equal(applyEdits(doc, edits), changes.apply(Text.of([doc])).toString());
});

test('touching changes arrive as one edit, as iterChanges joins them', () => {
  const changes = ChangeSet.of([{ from: 5, to: 6 }, { from: 6, to: 11, insert: 'there' }], 11);
  assert.deepEqual(changesToEdits(changes), [{ from: 5, to: 11, insert: 'there' }]);
});

test('inserted line breaks reach the CRDT as the editor’s line separator', () => {
  const state = EditorState.create({ doc: 'a' });
  const tr = state.update({ changes: { from: 1, insert: '\nb\nc' } });
  assert.deepEqual(changesToEdits(tr.changes, state.lineBreak), [{ from: 1, to: 1, insert: '\nb\nc' }]);
});

test('offsets count UTF-16 code units, as the core does', () => {
  const doc = 'a😀b';
  const changes = ChangeSet.of([{ from: 3, to: 4, insert: 'é' }], doc.length);
  assert.deepEqual(changesToEdits(changes), [{ from: 3, to: 4, insert: 'é' }]);
});

test('an empty change set yields no edits', () => {
  assert.deepEqual(changesToEdits(ChangeSet.empty(5)), []);
});

test('a delta of retains, inserts and deletes becomes ascending, non-overlapping changes', () => {
  const doc = 'the quick brown fox';
  const delta: DeltaOp[] = [{ retain: 4 }, { delete: 6 }, { insert: 'slow ' }, { retain: 6 }, { insert: '!' }];
  const changes = deltaToChanges(delta, doc.length);
  assert.deepEqual(changes, [
    { from: 4, to: 10, insert: 'slow ' },
    { from: 16, to: 16, insert: '!' },
  ]);
  const applied = ChangeSet.of(changes, doc.length).apply(Text.of([doc])).toString();
  assert.equal(applied, applyDelta(doc, delta));
});

test('an insert before a delete at one position is one replacement', () => {
  assert.deepEqual(deltaToChanges([{ insert: 'X' }, { delete: 2 }], 3), [{ from: 0, to: 2, insert: 'X' }]);
});

test('a delta with only retains changes nothing', () => {
  assert.deepEqual(deltaToChanges([{ retain: 3 }], 3), []);
  assert.deepEqual(deltaToChanges([], 0), []);
});

test('a delta reaching past the document end is a mismatch, not a silent clamp', () => {
  assert.throws(() => deltaToChanges([{ retain: 2 }, { delete: 5 }], 4), DeltaMismatch);
  assert.throws(() => deltaToChanges([{ retain: 9 }], 4), DeltaMismatch);
});

test('a malformed delta op is a mismatch', () => {
  assert.throws(() => deltaToChanges([{ retain: -1 }], 4), DeltaMismatch);
  assert.throws(() => deltaToChanges([{ delete: 1.5 }], 4), DeltaMismatch);
  assert.throws(() => deltaToChanges([{ nope: 1 } as unknown as DeltaOp], 4), DeltaMismatch);
});

test('random deltas applied as changes give the same text as applied as a delta', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 500; round++) {
    const doc = 'abcdefghij'.slice(0, rand(11));
    const delta: DeltaOp[] = [];
    let pos = 0;
    while (pos < doc.length || rand(3) === 0) {
      const kind = rand(3);
      const room = doc.length - pos;
      if (kind === 0 && room > 0) {
        const n = 1 + rand(room);
        delta.push({ retain: n });
        pos += n;
      } else if (kind === 1 && room > 0) {
        const n = 1 + rand(room);
        delta.push({ delete: n });
        pos += n;
      } else {
        delta.push({ insert: 'XYZ'.slice(0, 1 + rand(3)) });
        if (room === 0 && rand(2) === 0) break;
      }
    }
    const changes = deltaToChanges(delta, doc.length);
    const viaCm = ChangeSet.of(changes, doc.length).apply(Text.of([doc])).toString();
    assert.equal(viaCm, applyDelta(doc, delta), JSON.stringify({ doc, delta }));
  }
});

test('aligning equal texts needs no replacement', () => {
  assert.equal(replacementBetween('same', 'same'), null);
});

test('aligning replaces only the differing middle', () => {
  assert.deepEqual(replacementBetween('hello brave world', 'hello new world'), { from: 6, to: 11, insert: 'new' });
  assert.deepEqual(replacementBetween('', 'text'), { from: 0, to: 0, insert: 'text' });
  assert.deepEqual(replacementBetween('text', ''), { from: 0, to: 4, insert: '' });
  assert.deepEqual(replacementBetween('aaa', 'aaaa'), { from: 3, to: 3, insert: 'a' });
});

test('aligning never splits a surrogate pair', () => {
  const from = 'x\u{1F600}y';
  const to = 'x\u{1F601}y';
  const r = replacementBetween(from, to);
  assert.deepEqual(r, { from: 1, to: 3, insert: '\u{1F601}' });
  assert.equal(applyEdits(from, [r!]), to);
});

test('aligning produces the target text for arbitrary pairs', () => {
  const samples = ['', 'a', 'ab', 'abc', 'abcabc', 'ba', 'x😀', '😀x', '😀😁'];
  for (const a of samples) {
    for (const b of samples) {
      const r = replacementBetween(a, b);
      assert.equal(r ? applyEdits(a, [r]) : a, b, `${a} → ${b}`);
    }
  }
});
