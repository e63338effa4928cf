// The relay's rate limits as a device meets them: a 429 is waited out for as
// long as Retry-After says, and a 4429 close ("retry after N s") keeps the
// device away that long, says why in the status, and then reconnects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, TestTransport, device, freshVaultId, online, stopAll } from './harness';
import { RelayHttp, retryAfterHeaderMs } from '../src/core/engine/http';
import { retryAfterMs } from '../src/core/engine/link';

// These start their own relay with low limits; the worker under test runs the defaults.
const skip = Relay.external ? 'needs a relay started with low rate limits' : false;
let relay: Relay;
before(async () => {
  if (!skip) relay = await Relay.start(['--max-requests-per-sec', '2', '--max-sockets-per-token', '1']);
});
after(async () => relay?.stop());

test('retry times are read from 4429 reasons and Retry-After headers, and a hostile relay cannot park a device for long', () => {
  assert.equal(retryAfterMs(4429, 'rate-limited: too many frames: over 10 per second; retry after 3 s'), 3000);
  assert.equal(retryAfterMs(4429, 'too slow'), 0, 'a slow-consumer close asks for no wait');
  assert.equal(retryAfterMs(1006, 'retry after 3 s'), 0, 'only 4429 carries a wait');
  assert.equal(retryAfterMs(4429, 'retry after 999999 s'), 600_000, 'capped at ten minutes');
  assert.equal(retryAfterHeaderMs('7'), 7000);
  assert.equal(retryAfterHeaderMs('soon'), undefined);
  assert.equal(retryAfterHeaderMs(null), undefined);
});

test('requests over the token\'s rate get 429 with Retry-After, which the client waits out instead of failing', { skip, timeout: 60_000 }, async () => {
  const vault = freshVaultId();
  const token = relay.token(vault);
  const missing = '0'.repeat(64);
  const url = `${relay.url}/v1/vaults/${vault}/blobs/${missing}`;
  // Raw: the burst (40 at 2/s) runs out, and the refusal says when to come back.
  let refused: Response | undefined;
  for (let i = 0; i < 60 && !refused; i++) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 429) refused = res;
    else assert.equal(res.status, 404);
  }
  assert.ok(refused, 'the relay refused once the burst was spent');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  const body = (await refused.json()) as { error: string; message: string };
  assert.equal(body.error, 'rate-limited');
  assert.match(body.message, /retry after \d+ s/);
  // The plugin's client: the same token, still over its rate, gets its answers.
  const waits: number[] = [];
  const http = new RelayHttp(relay.url, vault, token, globalThis.fetch.bind(globalThis), async (ms) => {
    waits.push(ms);
    await new Promise((r) => setTimeout(r, ms));
  });
  for (let i = 0; i < 3; i++) assert.equal(await http.get(missing), undefined);
  assert.ok(waits.length > 0, 'the client waited as told');
});

test('a second socket over the token\'s cap is closed with 4429; the device says why, stays away as told, then connects', { skip, timeout: 120_000 }, async () => {
  const vault = freshVaultId();
  const token = relay.token(vault);
  const first = await device(relay, vault, 'laptop', { engine: { token } });
  await online(first);
  const net = new TestTransport();
  const second = await device(relay, vault, 'phone', { net, engine: { token } });
  try {
    await second.engine.until(() => /limiting this device/.test(second.engine.getStatus().reason ?? ''));
    const status = second.engine.getStatus();
    assert.equal(status.state, 'offline');
    assert.match(status.reason ?? '', /open sockets for this token/);
    const tries = net.opened.length;
    // The relay said 30 s; without it the backoff would have redialled within ~1 s.
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(net.opened.length, tries, 'no redial before the retry time');
    await stopAll([first]);
    await online(second);
    assert.equal(second.engine.getStatus().reason, undefined, 'the reason is gone once connected');
  } finally {
    await stopAll([first, second]);
  }
});
