// The plugin as Obsidian runs it: the built main.js in a headless Chromium
// host (obsidian-fake/, real CodeMirror 6), two hosts talking through the real
// relay. Each scenario is one way issue 12 says text could be lost there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { environment, untilConnected, untilFile, HANG } from './support.mjs';

let env;
let a;
let b;
before(async () => {
  env = await environment(`host-${Date.now().toString(36)}`);
  a = await env.host('Laptop');
  b = await env.host('Phone');
  await untilConnected(a);
  await untilConnected(b);
}, { timeout: HANG * 3 });

after(async () => {
  await env?.close();
});

const opts = { timeout: HANG * 2 };

test('the built main.js loads in the host, connects, and a note written on one host reaches the other', opts, async () => {
  await a.h('write', 'hello.md', 'hello\n');
  await untilFile(b, 'hello.md', 'hello\n');
  assert.match(await a.h('statusBar'), /Tessera/);
  await a.shot('connected.png');
});

/** Writes `text` on host `from` and waits until both hosts have it, nothing pending. */
async function seed(path, text) {
  await a.h('write', path, text);
  await untilFile(a, path, text);
  await untilFile(b, path, text);
}
/** Both hosts hold `text` at `path`, and nothing is pending anywhere. */
async function both(path, text) {
  await untilFile(a, path, text);
  await untilFile(b, path, text);
}

test('typing in a Live Preview table cell (a nested editor with the host’s info field) changes the cell once, on both hosts', opts, async () => {
  const table = '| a | b |\n|---|---|\n| c | d |\n';
  await seed('table.md', table);
  const leaf = await a.h('open', 'table.md');
  const at = table.indexOf('c');
  const cell = await a.h('openNested', leaf, at, at + 1, 'table-cell');
  await a.h('type', cell, 'end', 'X');
  await a.shot('table-cell.png');
  await a.h('closeNested', cell);
  await a.h('close', leaf);
  await both('table.md', '| a | b |\n|---|---|\n| cX | d |\n');
});

test('typing in a footnote popover changes the footnote once, on both hosts', opts, async () => {
  const note = 'Text[^1]\n\n[^1]: the note\n';
  await seed('foot.md', note);
  const leaf = await a.h('open', 'foot.md');
  const at = note.indexOf('the note');
  const pop = await a.h('openNested', leaf, at, at + 'the note'.length, 'footnote');
  await a.h('type', pop, 'end', ' more');
  await a.h('closeNested', pop);
  await a.h('type', leaf, 0, 'A ');
  await a.h('close', leaf);
  await both('foot.md', 'A Text[^1]\n\n[^1]: the note more\n');
});

test('typing in a hover editor, closing it, and typing in the note’s pane keeps every keystroke once', opts, async () => {
  await seed('hover.md', 'base\n');
  const leaf = await a.h('open', 'hover.md');
  const hover = await a.h('openHover', 'hover.md');
  await a.h('type', hover, 'end', 'from hover\n');
  await a.h('close', hover);
  await a.h('type', leaf, 'end', 'from pane\n');
  await a.h('close', leaf);
  await both('hover.md', 'base\nfrom hover\nfrom pane\n');
});

for (const mirror of [true, false]) {
  test(`two panes of one note (host ${mirror ? 'mirrors' : 'does not mirror'} them): type in one, close the other, keep typing: nothing duplicated or lost`, opts, async () => {
    const path = `panes-${mirror}.md`;
    await seed(path, 'shared\n');
    await a.h('setMirror', mirror);
    const left = await a.h('open', path);
    const right = await a.h('open', path);
    await a.h('type', left, 'end', 'L\n');
    await b.until((p) => window.host.read(p)?.includes('L\n'), path);
    await a.h('close', right);
    await a.h('type', left, 'end', 'M\n');
    // While the left pane is still open: its typing syncs, and remote typing reaches it.
    await b.until((p) => window.host.read(p) === 'shared\nL\nM\n', path);
    const remote = await b.h('open', path);
    await b.h('type', remote, 0, 'R\n');
    await a.until(([id]) => window.host.text(id) === 'R\nshared\nL\nM\n', [left]);
    await b.h('close', remote);
    await a.h('close', left);
    await a.h('setMirror', true);
    await both(path, 'R\nshared\nL\nM\n');
  });
}

test('paste a 5 MB image and keep typing for 10 s: nothing typed vanishes (autosaves during a lagging disk queue)', { timeout: HANG * 3 }, async () => {
  await seed('paste.md', 'notes\n');
  const leaf = await a.h('open', 'paste.md');
  a.link.bytesPerSec = 512 * 1024; // the upload holds the disk queue for ~10 s
  await a.h('pasteImage', 'paste.png', 5 * 1024 * 1024);
  await a.h('type', leaf, 'end', '![[paste.png]]\n');
  const keys = [];
  const startSaves = await a.h('saves');
  const t0 = Date.now();
  for (let i = 0; Date.now() - t0 < 10_000; i++) {
    const key = `${i} `;
    keys.push(key);
    await a.h('type', leaf, 'end', key);
    // Every 40 keystrokes a pause past the 2 s autosave debounce: the save
    // queues behind the upload while 40 more keystrokes are typed.
    await new Promise((r) => setTimeout(r, i % 40 === 39 ? 2200 : 40));
  }
  const typed = await a.h('text', leaf);
  for (const k of keys) assert.ok(typed.includes(` ${k}`) || typed.includes(`\n${k}`), `${JSON.stringify(k)} still in the editor`);
  assert.ok((await a.h('saves')) > startSaves, 'autosave ran while typing');
  await a.shot('paste-typing.png');
  // Still open: the note on the other host has everything typed.
  await untilFile(b, 'paste.md', typed);
  a.link.bytesPerSec = 0;
  await a.h('close', leaf);
  await both('paste.md', typed);
  await b.until(() => window.host.paths().includes('paste.png'));
});

test('a collaborator renames the note you are typing in: typing goes on in the renamed note, on both hosts', opts, async () => {
  await seed('moving.md', 'start\n');
  const leaf = await a.h('open', 'moving.md');
  await a.h('type', leaf, 'end', 'one\n');
  await b.h('rename', 'moving.md', 'moved/here.md');
  await a.until(() => window.host.paths().includes('moved/here.md'));
  await a.h('type', leaf, 'end', 'two\n');
  await a.h('close', leaf);
  await both('moved/here.md', 'start\none\ntwo\n');
  for (const h of [a, b]) assert.equal((await h.h('paths')).includes('moving.md'), false, h.name);
});

for (const events of ['folder-only', 'files-then-folder']) {
  test(`delete a folder of notes (host fires ${events}), then a remote edit to one of them: the notes stay deleted`, opts, async () => {
    const dir = `Proj-${events}`;
    await seed(`${dir}/x.md`, 'x\n');
    await seed(`${dir}/sub/y.md`, 'y\n');
    const editing = await b.h('open', `${dir}/x.md`);
    await a.h('setFolderDeleteEvents', events);
    await a.h('trash', dir);
    // Typing on the other host at once: its edits cross the delete on the way.
    await b.h('type', editing, 'end', 'late edit\n');
    await b.h('close', editing);
    // The delete reaches the other host (after the outside-rename window)...
    await b.until((d) => !window.host.paths().some((p) => p.startsWith(d + '/')), dir);
    await untilConnected(b);
    // ... and a later change from the same host: once it is on this host, the edits before it are too.
    await b.h('write', `marker-${events}.md`, 'after\n');
    await untilFile(a, `marker-${events}.md`, 'after\n');
    await untilConnected(a);
    assert.deepEqual((await a.h('paths')).filter((p) => p.startsWith(dir + '/')), []);
  });
}

test('a rename made outside Obsidian (delete + create of the same text) keeps the note’s identity: an editor open on the other host follows it', opts, async () => {
  await seed('outside-old.md', 'kept history\n');
  const editing = await b.h('open', 'outside-old.md');
  await a.h('externalRename', 'outside-old.md', 'outside-new.md');
  await b.until(() => window.host.paths().includes('outside-new.md') && !window.host.paths().includes('outside-old.md'));
  await b.h('type', editing, 'end', 'typed after\n');
  await b.h('close', editing);
  await both('outside-new.md', 'kept history\ntyped after\n');
});

test('IME composition while remote edits arrive loses nothing', opts, async () => {
  await seed('ime.md', 'line\n');
  const leaf = await a.h('open', 'ime.md');
  const remote = await b.h('open', 'ime.md');
  await a.h('focus', leaf, 'end');
  const cdp = await a.page.context().newCDPSession(a.page);
  await cdp.send('Input.imeSetComposition', { text: 'に', selectionStart: 1, selectionEnd: 1 });
  await cdp.send('Input.imeSetComposition', { text: 'にほ', selectionStart: 2, selectionEnd: 2 });
  await b.h('type', remote, 0, 'remote ');
  await cdp.send('Input.imeSetComposition', { text: 'にほん', selectionStart: 3, selectionEnd: 3 });
  await cdp.send('Input.insertText', { text: '日本' });
  await a.until((id) => window.host.text(id).includes('日本') && window.host.text(id).includes('remote '), leaf);
  await a.h('close', leaf);
  await b.h('close', remote);
  await both('ime.md', 'remote line\n日本');
});

test('settings typed slowly with the engine running restart nothing per keystroke', opts, async () => {
  await untilConnected(a);
  await a.h('openSettings');
  const before = await a.h('socketsOpened');
  const url = a.page.locator('input[type=text]').first();
  await url.click();
  await url.fill('');
  await url.pressSequentially(env.settings.serverUrl, { delay: 40 });
  assert.equal(await a.h('socketsOpened'), before, 'no socket opened while typing');
  await url.press('Tab');
  await untilConnected(a);
  assert.ok((await a.h('socketsOpened')) - before <= 1, 'at most one restart once committed');
  assert.match(await a.h('settingsText'), /Connected to sync/);
  await a.shot('settings-running.png');
});

test('first run from an empty configuration: the tab says it is not set up, and filling it in connects and syncs', opts, async () => {
  const c = await env.host('New laptop', { data: null });
  await c.h('openSettings');
  const text = await c.h('settingsText');
  assert.match(text, /Not set up/);
  assert.doesNotMatch(text, /Connected|Disconnect/);
  await c.shot('first-run.png');
  const inputs = c.page.locator('input');
  for (const [i, v] of [[0, env.settings.serverUrl], [1, env.settings.vaultId], [2, env.settings.token]]) {
    await inputs.nth(i).fill(v);
    await inputs.nth(i).press('Tab');
  }
  await untilConnected(c);
  await untilFile(c, 'hello.md', 'hello\n');
  assert.match(await c.h('settingsText'), /Connected to sync/);
  await c.shot('first-run-connected.png');
  await c.h('stop');
  await c.page.close();
});

test('mobile profile: no status bar, backgrounded and back, typing syncs', opts, async () => {
  const m = await env.host('Android', { mobile: true });
  await untilConnected(m);
  assert.equal(await m.h('statusBarShown'), false, 'no status bar on mobile');
  await untilFile(m, 'hello.md', 'hello\n');
  await m.h('setVisibility', 'hidden');
  await b.h('write', 'mobile.md', 'while backgrounded\n');
  await m.h('setVisibility', 'visible');
  await untilFile(m, 'mobile.md', 'while backgrounded\n');
  const leaf = await m.h('open', 'mobile.md');
  await m.h('type', leaf, 'end', 'typed on the phone\n');
  await m.h('close', leaf);
  await untilFile(m, 'mobile.md', 'while backgrounded\ntyped on the phone\n');
  await untilFile(b, 'mobile.md', 'while backgrounded\ntyped on the phone\n');
  await m.shot('mobile.png');
  await m.h('stop');
  await m.page.close();
});

test('no page errors in any host', () => {
  assert.deepEqual(env.errors, []);
});
