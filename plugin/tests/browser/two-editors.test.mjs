// Two CodeMirror 6 editors in headless Chromium, each with its own WasmNote
// (the real core) and its own socket to the real relay. Typing interleaved
// into both must converge, show each device's cursor in the other editor,
// and undo must undo only the typing device's own edits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { startRelay } from './relay.mjs';
import { servePage } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, '../artifacts');
// Hang protection only; nothing below measures time.
const HANG = 60_000;

let relay;
let server;
let browser;
let page;

before(async () => {
  relay = await startRelay({ vault: 'editor-test' });
  server = await servePage();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1100, height: 420 } });
  page.setDefaultTimeout(HANG);
  page.on('pageerror', (e) => console.error('page error:', e));
  const doc = randomBytes(16).toString('hex');
  await page.goto(`${server.url}?ws=${encodeURIComponent(relay.wsUrl)}&doc=${doc}`);
  await page.waitForFunction(() => window.tessera?.synced());
}, { timeout: HANG * 3 });

after(async () => {
  await browser?.close();
  await server?.close();
  await relay?.stop();
});

const texts = () => page.evaluate(() => ({ editors: window.tessera.editorTexts(), crdts: window.tessera.crdtTexts() }));

/**
 * Waits until both editors and both CRDTs hold the same text containing every
 * string of `includes` and none of `excludes` (so a keystroke still on its
 * way through CodeMirror's input handling cannot pass for convergence).
 */
async function converged({ includes = [], excludes = [] } = {}) {
  await page.waitForFunction(
    ({ includes, excludes }) => {
      const t = window.tessera;
      const all = [...t.editorTexts(), ...t.crdtTexts()];
      return (
        all.every((x) => x === all[0]) &&
        includes.every((s) => all[0].includes(s)) &&
        excludes.every((s) => !all[0].includes(s))
      );
    },
    { includes, excludes },
  );
  return (await texts()).editors[0];
}

const editor = (id) => `#editor-${id} .cm-content`;

test('attaching an editor replaces its text with the CRDT’s instead of merging it in', async () => {
  const { editors, crdts } = await texts();
  assert.deepEqual(editors, ['', '']);
  assert.deepEqual(crdts, ['', '']);
});

test('typing interleaved into two editors converges to one text holding every keystroke', async () => {
  const laptop = ['Alpha ', 'bravo ', 'charlie ', 'delta\n'];
  const phone = ['one ', 'two ', 'three ', 'four\n'];
  for (let i = 0; i < laptop.length; i++) {
    // No waiting between devices: each types while the other's updates are in flight.
    await page.focus(editor('a'));
    await page.keyboard.type(laptop[i]);
    await page.focus(editor('b'));
    await page.keyboard.type(phone[i]);
  }
  const text = await converged({ includes: [...laptop, ...phone].map((w) => w.trim()) });
  for (const word of [...laptop, ...phone]) assert.ok(text.includes(word.trim()), `${JSON.stringify(word)} in ${JSON.stringify(text)}`);
  assert.equal(text.length, [...laptop, ...phone].join('').length, 'no keystroke lost or duplicated');
});

test('each editor draws the other device’s cursor, labelled with its name', async () => {
  await page.focus(editor('b'));
  await page.keyboard.press('End');
  for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowLeft');
  // The laptop's editor shows the phone's caret and its selection.
  const label = page.locator('#editor-a .tessera-caret-label');
  await label.waitFor();
  assert.equal(await label.textContent(), 'Phone');
  await page.locator('#editor-a .tessera-selection').first().waitFor();
  // The phone's editor does not draw its own cursor as a peer.
  assert.equal(await page.locator('#editor-b .tessera-caret-label', { hasText: 'Phone' }).count(), 0);

  await page.focus(editor('a'));
  const other = page.locator('#editor-b .tessera-caret-label');
  await other.waitFor();
  assert.equal(await other.textContent(), 'Laptop');
  // The phone lost focus, so its caret left the laptop's editor.
  await page.locator('#editor-a .tessera-caret-label').waitFor({ state: 'detached' });
});

test('undo in one editor undoes only that device’s typing, never the other’s', async () => {
  const before = await converged();
  await page.focus(editor('a'));
  await page.keyboard.press('End');
  await page.keyboard.type('LAPTOPONLY');
  const withLaptop = await converged({ includes: ['LAPTOPONLY'] });
  assert.ok(withLaptop.includes('LAPTOPONLY'));
  await page.focus(editor('b'));
  await page.keyboard.press('End');
  await page.keyboard.type('PHONEONLY');
  await converged({ includes: ['PHONEONLY'] });
  // Undo on the phone: removes the phone's latest typing; the laptop's stays.
  await page.keyboard.press('Control+z');
  const after = await converged({ excludes: ['PHONEONLY'] });
  assert.ok(!after.includes('PHONEONLY'), after);
  assert.ok(after.includes('LAPTOPONLY'), after);
  for (const word of ['Alpha', 'bravo', 'charlie', 'delta']) assert.ok(after.includes(word), after);
  assert.notEqual(before, after);
});

test('a screenshot of both editors with the remote cursor is saved', async () => {
  await page.focus(editor('b'));
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Shift+End');
  await page.locator('#editor-a .tessera-caret-label', { hasText: 'Phone' }).waitFor();
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, 'two-editors.png');
  await page.screenshot({ path });
  assert.ok(path);
});
