// Which peers are drawn, where, and in what colour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerMarks, safeColor } from '../../src/core/editor/presence.ts';
import type { Presence } from '../../src/core/contract.ts';

const peer = (over: Partial<Presence>): Presence => ({
  clientId: 7,
  name: 'laptop',
  color: '#ff8800',
  anchor: 1,
  head: 3,
  ...over,
});

test('a peer without a cursor in this note is not drawn', () => {
  assert.deepEqual(peerMarks([peer({ anchor: null, head: null })], 10), []);
});

test('a peer with only a head is drawn as a caret without a selection', () => {
  const [mark] = peerMarks([peer({ anchor: null, head: 4 })], 10);
  assert.equal(mark?.anchor, 4);
  assert.equal(mark?.head, 4);
});

test('offsets beyond the document are clamped to it', () => {
  const [mark] = peerMarks([peer({ anchor: -5, head: 99 })], 10);
  assert.equal(mark?.anchor, 0);
  assert.equal(mark?.head, 10);
});

test('a peer without a name is labelled by its client id', () => {
  assert.equal(peerMarks([peer({ name: '' })], 10)[0]?.name, 'device 7');
});

test('hex colours pass; anything that could escape a style attribute does not', () => {
  assert.equal(safeColor('#abc', 1), '#abc');
  assert.equal(safeColor('#A1B2C3', 1), '#A1B2C3');
  assert.equal(safeColor('#a1b2c3d4', 1), '#a1b2c3d4');
  assert.match(safeColor('red; background: url(x)', 1), /^hsl\(/);
  assert.match(safeColor('', 1), /^hsl\(/);
});

test('the fallback colour is stable for a client id', () => {
  assert.equal(safeColor('nope', 12345), safeColor('bad', 12345));
});
