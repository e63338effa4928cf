// What the status says over the real relay: "Receiving n of m" while a new
// device takes in the vault, "All changes saved" only once the relay's
// durable acks settled every local change, and a dead socket that stops
// saying "Connected" (issue 12, findings 8 and 9, and "safe to close").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, freshVaultId, online, settle, stopAll } from './harness';
import { MemoryVault } from '../src/core/engine/memory';
import type { SyncStatus } from '../src/core/engine/status';
import { statusText } from '../src/core/ui/status-text';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

describe('status over the real relay', () => {
  test('a new device receiving a vault of 30 notes says "Receiving n of m" with m = 30 notes and the index, then "All changes saved"', {
    timeout: 60_000,
  }, async () => {
    const vaultId = freshVaultId();
    const va = new MemoryVault();
    for (let i = 0; i < 30; i++) await va.writeText(`n${i}.md`, `note ${i}\n`);
    const a = await device(relay, vaultId, 'A', { vault: va });
    try {
      await settle([a]);
      const seen: SyncStatus[] = [];
      const b = await device(relay, vaultId, 'B', {});
      const off = b.engine.onStatus((s) => seen.push(s));
      try {
        await settle([a, b]);
        off();
        assert.equal(b.vault.snapshot().size, 30);
        const receiving = seen.filter((s) => s.receiving).map((s) => statusText(s).text);
        assert.ok(receiving.length > 0, `some status said Receiving: ${JSON.stringify(seen)}`);
        assert.ok(receiving.every((t) => /^Receiving \d+ of \d+/.test(t)), receiving.join(', '));
        const totals = seen.flatMap((s) => (s.receiving ? [s.receiving.total] : []));
        assert.ok(Math.max(...totals) >= 30, `the largest round counted every note: ${totals.join(',')}`);
        const last = b.engine.getStatus();
        assert.equal(last.state, 'connected');
        assert.ok(last.savedAt !== undefined);
        assert.match(statusText(last).text, /^All changes saved · \d\d:\d\d$/);
        assert.match(statusText(last).title, /safe to close/);
      } finally {
        await stopAll([b]);
      }
    } finally {
      await stopAll([a]);
    }
  });

  test('a local edit is never "saved" before the relay acknowledged it; after the ack the saved time moves on', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A');
    try {
      await settle([a]);
      const firstSaved = a.engine.getStatus().savedAt;
      assert.ok(firstSaved !== undefined, 'saved once the first exchange completed');
      const seen: SyncStatus[] = [];
      const off = a.engine.onStatus((s) => seen.push(s));
      await a.vault.writeText('new.md', 'typed while online\n');
      await a.engine.until(() => a.engine.outbox.unsettledCount() > 0);
      const during = a.engine.getStatus();
      assert.notEqual(statusText(during).text.startsWith('All changes saved'), true, statusText(during).text);
      await a.engine.whenIdle();
      off();
      const after = a.engine.getStatus();
      assert.match(statusText(after).text, /^All changes saved/);
      assert.ok(after.savedAt! >= firstSaved);
      // Every status that said "saved" was emitted with nothing unacknowledged.
      for (const s of seen) if (statusText(s).text.startsWith('All changes saved')) assert.equal(s.pending, 0);
    } finally {
      await stopAll([a]);
    }
  });

  test('an edit made while offline keeps the status off "saved" until it reaches the relay', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A');
    try {
      await settle([a]);
      a.net.goOffline();
      await a.engine.until(() => !a.engine.connected);
      await a.vault.writeText('offline.md', 'typed offline\n');
      await a.engine.until(() => a.engine.getStatus().pending > 0);
      const off = statusText(a.engine.getStatus());
      assert.match(off.text, /^Offline \(\d+ pending\)$/);
      assert.match(off.title, /last synced \d\d:\d\d/, 'offline still tells when it last synced');
      a.net.goOnline();
      a.engine.wake();
      await online(a);
      await a.engine.whenIdle();
      assert.match(statusText(a.engine.getStatus()).text, /^All changes saved/);
    } finally {
      await stopAll([a]);
    }
  });
});

describe('socket watchdog', () => {
  test('a socket that goes silent without closing is dropped and redialled; edits from the other device arrive again', {
    timeout: 60_000,
  }, async () => {
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A');
    // A short silence limit stands in for the default 45 s; the test waits for events, not times.
    const b = await device(relay, vaultId, 'B', { engine: { silentMs: 1_500, renewMs: 500 } });
    try {
      await settle([a, b]);
      const states: string[] = [];
      const off = b.engine.onStatus((s) => states.push(s.state));
      b.net.freeze();
      await a.vault.writeText('while-frozen.md', 'written while B was not hearing\n');
      await a.engine.whenIdle();
      await b.engine.until(() => b.vault.snapshot().get('while-frozen.md') === 'written while B was not hearing\n');
      off();
      assert.ok(states.includes('offline'), `B noticed the dead socket: ${states.join(',')}`);
    } finally {
      await stopAll([a, b]);
    }
  });

  test('wake() on a device waiting out its reconnect backoff dials at once', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A');
    try {
      await settle([a]);
      a.net.goOffline();
      // Several refused dials push the backoff towards its 30 s ceiling.
      for (let i = 0; i < 6; i++) a.engine.wake();
      await a.engine.until(() => !a.engine.connected);
      a.net.goOnline();
      a.engine.wake();
      await online(a);
      assert.ok(a.engine.connected);
    } finally {
      await stopAll([a]);
    }
  });
});
