// obsidian://tessera-setup links: what the relay prints, what the plugin
// accepts. A link is input from outside the app (any web page can open one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSetupLink, setupLink } from '../../src/core/ui/setup-link.ts';

const TOKEN = 'v1.eyJ2YXVsdCI6ImFiYyJ9.V9MdW6-BPtp-rwA8FibSuQJ_uWsXBUuoXNe79oz2zR8';

/** The params Obsidian hands the handler: the query, decoded. */
const paramsOf = (link: string) => Object.fromEntries(new URL(link).searchParams) as Record<string, string>;

test('a link made by setupLink parses back to the same relay, vault and token', () => {
  const offer = { serverUrl: 'https://sync.example.org', vaultId: 'my-notes', token: TOKEN };
  const link = setupLink(offer);
  assert.match(link, /^obsidian:\/\/tessera-setup\?url=https%3A%2F%2Fsync\.example\.org&vault=my-notes&token=v1\./);
  assert.deepEqual(parseSetupLink(paramsOf(link)), { ok: true, offer });
});

test('the relay address loses trailing slashes and keeps a path prefix', () => {
  const r = parseSetupLink({ url: 'https://example.org/tessera/', vault: 'v', token: TOKEN });
  assert.ok(r.ok);
  assert.equal(r.offer.serverUrl, 'https://example.org/tessera');
});

test('links missing a part, or with a non-http relay, credentials, a query, a bad vault id or token, are refused with a reason', () => {
  const good = { url: 'https://r.example', vault: 'v1', token: TOKEN };
  const bad: [Record<string, string>, RegExp][] = [
    [{ ...good, token: '' }, /needs url, vault and token/],
    [{ ...good, url: 'javascript:alert(1)' }, /https:\/\/ or http:\/\//],
    [{ ...good, url: 'file:///etc/passwd' }, /https:\/\/ or http:\/\//],
    [{ ...good, url: 'not a url' }, /not a URL/],
    [{ ...good, url: 'https://user:pw@r.example' }, /user name or password/],
    [{ ...good, url: 'https://r.example/?x=1' }, /query or fragment/],
    [{ ...good, vault: '../other' }, /vault id/],
    [{ ...good, vault: 'Upper' }, /vault id/],
    [{ ...good, token: 'hello world' }, /token/],
  ];
  for (const [params, reason] of bad) {
    const r = parseSetupLink(params);
    assert.equal(r.ok, false, JSON.stringify(params));
    if (!r.ok) assert.match(r.reason, reason);
    // The reason never repeats the token.
    if (!r.ok) assert.ok(!r.reason.includes(TOKEN));
  }
});
