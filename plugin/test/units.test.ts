import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import './harness';
import { merge3 } from '../src/core/engine/merge3';
import { deriveStatus } from '../src/core/engine/status';
import { statusText } from '../src/core/ui/status-text';
import { Outbox } from '../src/core/engine/outbox';
import { MemoryStore } from '../src/core/engine/memory';

describe('three-way merge of disk text', () => {
  test('a disk edit made from an older text is replayed once onto the newer text', () => {
    const merged = merge3('a\nb\nc\n', 'typed a\nb\nc\n', 'a\nb\nc\nappended\n');
    assert.equal(merged, 'typed a\nb\nc\nappended\n');
  });
  test('a disk text equal to either side changes nothing', () => {
    assert.equal(merge3('x', 'xy', 'x'), 'xy');
    assert.equal(merge3('x', 'xy', 'xy'), 'xy');
  });
});

describe('status model', () => {
  const base = { connected: true, scope: 'write', pending: 0, refused: 0, conflicts: 0, error: undefined };
  test('priority: error, conflict, read-only, offline, syncing, connected', () => {
    const text = (s: Parameters<typeof deriveStatus>[0]) => statusText(deriveStatus(s)).text;
    assert.equal(text(base), 'Connected');
    assert.equal(text({ ...base, pending: 2 }), 'Syncing (2 pending)');
    assert.equal(text({ ...base, connected: false, pending: 2 }), 'Offline (2 pending)');
    assert.equal(text({ ...base, scope: 'read' }), 'Read-only');
    assert.equal(text({ ...base, conflicts: 1, scope: 'read' }), 'Conflict (1)');
    assert.equal(text({ ...base, conflicts: 1, error: 'x' }), 'Error (x)');
    assert.equal(text({ ...base, connected: false, refused: 1, pending: 1 }), 'Offline (2 pending)');
  });
});

describe('outbox', () => {
  test('an ack settles the writes it covers; a refused write stays stored, marked rejected', async () => {
    const store = new MemoryStore();
    const box = new Outbox(store);
    await box.load();
    await box.add('d', new Uint8Array([1])).saved;
    box.recordWrite('d');
    await box.add('d', new Uint8Array([2])).saved;
    box.recordWrite('d', box.items('d').slice(1));
    await box.reject('d', 2, 'permission-denied', 'read-only');
    await box.ack('d', 2);
    assert.equal(box.unsettledCount(), 0);
    assert.equal(box.rejected().length, 1);
    const again = new Outbox(store);
    await again.load();
    assert.equal(again.rejected().length, 1, 'the refused update survives a restart');
  });
});
