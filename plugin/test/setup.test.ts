// The relay's `token --setup` link is one the plugin's protocol handler
// accepts, and its token opens the vault on the real relay.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Relay, device, freshVaultId, online, stopAll } from './harness';
import { parseSetupLink } from '../src/core/ui/setup-link';

const BIN = process.env.TESSERA_RELAY_BIN ?? new URL('../../target/debug/tessera-relay', import.meta.url).pathname;
let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

test('tessera-relay token --setup prints a link the plugin accepts, whose token connects to the vault', { timeout: 180_000 }, async () => {
  const vaultId = freshVaultId();
  const out = execFileSync(BIN, ['token', '--vault', vaultId, '--device', 'phone', '--setup', '--public-url', `${relay.url}/`], {
    env: { ...process.env, TESSERA_SECRET: Relay.secret },
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const link = out.split('\n').find((l) => l.startsWith('obsidian://tessera-setup?'));
  assert.ok(link, out);
  assert.ok(/[█▀▄]/.test(out), 'a terminal QR code follows the link');
  // Obsidian hands the handler the query's parameters, decoded.
  const parsed = parseSetupLink(Object.fromEntries(new URL(link).searchParams));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.offer.serverUrl, relay.url);
  assert.equal(parsed.offer.vaultId, vaultId);
  const d = await device(relay, vaultId, 'phone', { engine: { token: parsed.offer.token } });
  try {
    await online(d);
    assert.equal(d.engine.getStatus().state, 'connected');
  } finally {
    await stopAll([d]);
  }
});
