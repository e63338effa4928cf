// A device pointed at a vault nobody created is told so in its status (the
// relay answers the socket's upgrade 404; a WebSocket only sees 1006, so the
// engine asks over HTTP), and nothing is created by its trying.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { Relay, device, freshVaultId, stopAll } from './harness';

const skip = Relay.external ? 'needs a relay started without auto-created vaults' : false;
let relay: Relay;
before(async () => {
  if (!skip) relay = await Relay.start([], false);
});
after(async () => relay?.stop());

test('a device whose vault no admin created shows "there is no vault" and creates nothing', { skip, timeout: 60_000 }, async () => {
  const vault = freshVaultId();
  const d = await device(relay, vault, 'laptop');
  try {
    await d.engine.until(() => d.engine.getStatus().state === 'error');
    assert.match(d.engine.getStatus().reason ?? '', /there is no vault/);
    const dir = (relay as unknown as { dir: string }).dir;
    const named = (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.includes(vault));
    assert.deepEqual(named, [], 'nothing in the data directory names the vault');
  } finally {
    await stopAll([d]);
  }
});
