import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, freshVaultId, settle, stopAll } from './harness';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

const bytes = (s: string) => new TextEncoder().encode(s);

describe('attachments through the blob endpoints', { timeout: 600_000 }, () => {
  test('an attachment added on one device is uploaded and downloaded on the other', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A');
    const b = await device(relay, vaultId, 'B');
    await settle([a, b]);
    await a.vault.writeBinary('img/pic.png', bytes('\x89PNG fake image bytes'));
    await settle([a, b]);
    assert.deepEqual(await b.vault.readBinary('img/pic.png'), bytes('\x89PNG fake image bytes'));
    await stopAll([a, b]);
  });

  test('a concurrent binary change becomes a conflict; Use cloud and Keep local each settle it', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const a = await device(relay, vaultId, 'A');
    const b = await device(relay, vaultId, 'B');
    await a.vault.writeBinary('doc.pdf', bytes('v1'));
    await settle([a, b]);
    b.net.goOffline();
    await b.engine.until(() => b.engine.getStatus().state === 'offline');
    await a.vault.writeBinary('doc.pdf', bytes('v2 from A'));
    await b.vault.writeBinary('doc.pdf', bytes('v2 from B'));
    await settle([a]);
    b.net.goOnline();
    b.engine.reconnect();
    await settle([a, b]);
    const [c] = b.engine.conflicts();
    assert.ok(c, 'B has a conflict');
    assert.equal(c.path, 'doc.pdf');
    // The modal shows when each version was made.
    assert.equal(c.localMtime, (await b.vault.stat('doc.pdf'))!.mtime);
    assert.equal(typeof c.cloudMtime, 'number');
    assert.equal(b.engine.getStatus().conflicts, 1);
    assert.deepEqual(await b.vault.readBinary('doc.pdf'), bytes('v2 from B'), 'local version kept until resolved');
    await b.engine.resolveConflict(c.id, 'local');
    await settle([a, b]);
    assert.deepEqual(await a.vault.readBinary('doc.pdf'), bytes('v2 from B'));
    const { savedAt, ...status } = b.engine.getStatus();
    assert.deepEqual(status, { state: 'connected', pending: 0, conflicts: 0 });
    assert.ok(savedAt !== undefined);
    await stopAll([a, b]);
  });
});
