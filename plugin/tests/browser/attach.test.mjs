// The attacher over the real core and relay: an editor gets its note's
// session on demand, keeps what was typed while the session opened, and a
// file switched in place never leaks the new file's text into the old note.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launchChromium } from './chromium.mjs';
import { startRelay } from './relay.mjs';
import { servePage } from './serve.mjs';

const HANG = Number(process.env.TESSERA_HANG_MS ?? 60_000); // hang protection only
const docs = { 'x.md': randomBytes(16).toString('hex'), 'y.md': randomBytes(16).toString('hex') };
let relay;
let server;
let browser;
let page;

before(async () => {
  relay = await startRelay({ vault: 'attach-test' });
  server = await servePage();
  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(HANG);
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${server.url}attach?ws=${encodeURIComponent(relay.wsUrl)}&docs=${encodeURIComponent(JSON.stringify(docs))}`);
  await page.waitForFunction(() => window.tessera?.synced());
}, { timeout: HANG * 3 });

after(async () => {
  await browser?.close();
  await server?.close();
  await relay?.stop();
});

const call = (fn, ...args) => page.evaluate(({ fn, args }) => window.tessera[fn](...args), { fn, args });
const waitFor = (fn, ...args) => page.waitForFunction(({ fn, args }) => window.tessera[fn](...args), { fn, args });

test('keystrokes typed while a note’s session opens reach its CRDT', async () => {
  await call('show', 'x.md', '');
  await waitFor('pendingOpen', 'x.md');
  await page.focus('#editor .cm-content');
  await page.keyboard.type('typed early');
  await call('release', 'x.md');
  await page.waitForFunction(() => window.tessera.crdtText('x.md') === 'typed early');
  await page.keyboard.type(', then more');
  await page.waitForFunction(() => window.tessera.crdtText('x.md') === 'typed early, then more');
  assert.equal(await call('editorText'), 'typed early, then more');
});

test('switching the editor to another file in place leaves the old note’s text alone', async () => {
  await call('seed', 'y.md', 'the y note');
  await page.waitForFunction(() => window.tessera.crdtText('y.md') === 'the y note');
  await call('show', 'y.md', 'the y note');
  await waitFor('pendingOpen', 'y.md');
  await call('release', 'y.md');
  await page.waitForFunction(() => window.tessera.opened().includes('y.md'));
  await page.focus('#editor .cm-content');
  await page.keyboard.press('Control+End');
  await page.keyboard.type('!');
  await page.waitForFunction(() => window.tessera.crdtText('y.md') === 'the y note!');
  assert.equal(await call('crdtText', 'x.md'), 'typed early, then more');
  assert.equal(await call('editorText'), 'the y note!');
});

test('an editor whose session the engine closed gets a new one on retry, and typing reaches the CRDT again', async () => {
  const before = (await call('opened')).filter((p) => p === 'y.md').length;
  await call('dropSession', 'y.md');
  await call('retry');
  await waitFor('pendingOpen', 'y.md');
  await call('release', 'y.md');
  await page.waitForFunction((n) => window.tessera.opened().filter((p) => p === 'y.md').length === n + 1, before);
  await page.focus('#editor .cm-content');
  await page.keyboard.press('Control+End');
  await page.keyboard.type('?');
  await page.waitForFunction(() => window.tessera.crdtText('y.md') === 'the y note!?');
  assert.equal(await call('editorText'), 'the y note!?');
});
