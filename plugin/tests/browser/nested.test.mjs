// Editors as Obsidian hosts them (see nested-page.ts): a nested table-cell
// editor never binds to the note, and two panes of one note mirrored by the
// host insert each change once, surviving the close of either pane.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launchChromium } from './chromium.mjs';
import { startRelay } from './relay.mjs';
import { servePage } from './serve.mjs';

const HANG = Number(process.env.TESSERA_HANG_MS ?? 60_000); // hang protection only
let relay;
let server;
let browser;
let page;

before(async () => {
  relay = await startRelay({ vault: 'nested-test' });
  server = await servePage();
  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(HANG);
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${server.url}nested?ws=${encodeURIComponent(relay.wsUrl)}&doc=${randomBytes(16).toString('hex')}`);
  await page.waitForFunction(() => window.tessera?.synced());
}, { timeout: HANG * 3 });

after(async () => {
  await browser?.close();
  await server?.close();
  await relay?.stop();
});

const call = (fn, ...args) => page.evaluate(({ fn, args }) => window.tessera[fn](...args), { fn, args });
const until = (body) => page.waitForFunction(body);
const count = (text, piece) => text.split(piece).length - 1;

test('a table-cell editor inheriting the note editor’s info field never binds: typing in it leaves the note alone', async () => {
  await call('seed', '| a | b |\n');
  await until(() => window.tessera.localText() === '| a | b |\n');
  await call('openHost');
  await until(() => window.tessera.handles() === 1);
  await call('openCell', 'a');
  await call('typeIn', 'cell', 1, 'X');
  // A host keystroke after the cell's: once it is on the relay, anything the cell sent would be too.
  await call('typeIn', 'host', 0, 'H');
  await until(() => window.tessera.crdtText().startsWith('H'));
  assert.equal(await call('crdtText'), 'H| a | b |\n');
  assert.equal(await call('opens'), 1, 'only the note editor opened a session');
  assert.equal(await call('text', 'cell'), 'aX');
  await call('closePane', 'cell');
  await call('closePane', 'host');
});

test('two panes of one note mirrored by the host: each change lands once, and closing one pane leaves the other syncing', async () => {
  await until(() => window.tessera.handles() === 0);
  await call('openPanes');
  await until(() => window.tessera.handles() === 2);
  await call('typeIn', 'left', 0, 'L');
  await until(() => window.tessera.crdtText().startsWith('L'));
  await call('remoteInsert', 0, 'R');
  await until(() => window.tessera.text('left') === window.tessera.crdtText() && window.tessera.text('right') === window.tessera.crdtText());
  await call('closePane', 'right');
  await until(() => window.tessera.handles() === 1);
  await call('typeIn', 'left', 0, 'M');
  await until(() => window.tessera.crdtText().startsWith('M'));
  const text = await call('crdtText');
  assert.equal(text, 'MRLH| a | b |\n');
  for (const piece of ['L', 'R', 'M']) assert.equal(count(text, piece), 1, `${piece} once in ${JSON.stringify(text)}`);
  assert.equal(await call('text', 'left'), text);
});
