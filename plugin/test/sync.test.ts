import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, files, freshVaultId, online, settle, stopAll, type Device } from './harness';
import { MemoryStore, MemoryVault } from '../src/core/engine/memory';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

async function devices(n: number, vault = freshVaultId()): Promise<Device[]> {
  const out: Device[] = [];
  for (let i = 0; i < n; i++) out.push(await device(relay, vault, `device-${i}`));
  await settle(out);
  return out;
}

describe('sync engine over the real relay', { timeout: 600_000 }, () => {
  test('a note created on one device appears on the other with the same text', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('Notes/hello.md', 'hello world\n');
    await settle([a!, b!]);
    assert.equal(b!.vault.snapshot().get('Notes/hello.md'), 'hello world\n');
    await stopAll([a!, b!]);
  });

  test('two devices editing one open note concurrently converge, each editor seeing the other', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('n.md', 'line one\nline two\n');
    await settle([a!, b!]);
    const sa = await a!.engine.openNote('n.md');
    const sb = await b!.engine.openNote('n.md');
    let shownB = sb.text();
    sb.onRemoteChange((delta) => {
      let pos = 0;
      for (const op of delta) {
        if ('retain' in op) pos += op.retain;
        else if ('insert' in op) (shownB = shownB.slice(0, pos) + op.insert + shownB.slice(pos)), (pos += op.insert.length);
        else shownB = shownB.slice(0, pos) + shownB.slice(pos + op.delete);
      }
    });
    sa.applyLocalEdits([{ from: 0, to: 0, insert: 'A says hi. ' }]);
    sb.applyLocalEdits([{ from: 18, to: 18, insert: ' (B was here)' }]);
    shownB = shownB.slice(0, 18) + ' (B was here)' + shownB.slice(18); // what B's editor did itself
    await settle([a!, b!]);
    assert.equal(sa.text(), sb.text());
    assert.ok(sa.text().includes('A says hi. ') && sa.text().includes('(B was here)'));
    assert.equal(shownB, sb.text(), 'the deltas reproduce the text in B\'s editor');
    sa.close();
    sb.close();
    await settle([a!, b!]);
    assert.deepEqual(files(a!), files(b!));
    await stopAll([a!, b!]);
  });

  test('an edit to a note this device has not opened since reconnecting arrives without asking (the relay announces it)', { timeout: 60_000 }, async () => {
    const vault = freshVaultId();
    // No periodic poll during the test: only the relay's announcement can bring the edit.
    const quiet = { engine: { renewMs: 3_600_000 } };
    const a = await device(relay, vault, 'A', quiet);
    const b = await device(relay, vault, 'B', quiet);
    await a.vault.writeText('Projects/plan.md', 'first version\n');
    await settle([a, b]);
    b.engine.reconnect();
    await online(b);
    await b.engine.whenIdle();
    await a.vault.writeText('Projects/plan.md', 'first version\nsecond line from A\n');
    await a.engine.whenIdle();
    await b.engine.until(() => b.vault.snapshot().get('Projects/plan.md') === 'first version\nsecond line from A\n');
    await stopAll([a, b]);
  });

  test('three devices editing the same note converge to one text holding every edit', { timeout: 60_000 }, async () => {
    const ds = await devices(3);
    await ds[0]!.vault.writeText('three.md', 'start\n');
    await settle(ds);
    const sessions = await Promise.all(ds.map((d) => d.engine.openNote('three.md')));
    sessions.forEach((s, i) => s.applyLocalEdits([{ from: 0, to: 0, insert: `edit-${i}\n` }]));
    await settle(ds);
    const text = sessions[0]!.text();
    for (const s of sessions) assert.equal(s.text(), text);
    for (let i = 0; i < 3; i++) assert.equal(text.split(`edit-${i}\n`).length, 2);
    for (const s of sessions) s.close();
    await settle(ds);
    for (const d of ds) assert.equal(d.vault.snapshot().get('three.md'), text);
    await stopAll(ds);
  });

  test('offline and online cycles with edits on both sides lose nothing', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('cycle.md', 'base\n');
    await settle([a!, b!]);
    for (let round = 0; round < 3; round++) {
      a!.net.goOffline();
      await a!.engine.until(() => a!.engine.getStatus().state === 'offline');
      const ta = await a!.vault.readText('cycle.md');
      await a!.vault.writeText('cycle.md', ta + `offline A ${round}\n`);
      const tb = await b!.vault.readText('cycle.md');
      await b!.vault.writeText('cycle.md', `online B ${round}\n` + tb);
      await b!.engine.whenIdle();
      assert.equal(a!.engine.getStatus().state, 'offline');
      assert.ok(a!.engine.getStatus().pending > 0);
      a!.net.goOnline();
      a!.engine.reconnect();
      await settle([a!, b!]);
    }
    const text = a!.vault.snapshot().get('cycle.md')!;
    assert.equal(b!.vault.snapshot().get('cycle.md'), text);
    for (let r = 0; r < 3; r++) {
      assert.equal(text.split(`offline A ${r}\n`).length, 2);
      assert.equal(text.split(`online B ${r}\n`).length, 2);
    }
    assert.equal(a!.engine.getStatus().state, 'connected');
    await stopAll([a!, b!]);
  });

  test('a rename racing an edit keeps both: the file moves and holds the edit', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('old.md', 'text\n');
    await settle([a!, b!]);
    a!.net.goOffline();
    await a!.vault.rename('old.md', 'new.md');
    await b!.vault.writeText('old.md', 'text\nedited on B\n');
    await b!.engine.whenIdle();
    a!.net.goOnline();
    a!.engine.reconnect();
    await settle([a!, b!]);
    for (const d of [a!, b!]) {
      assert.deepEqual(files(d), { 'new.md': 'text\nedited on B\n' }, d.name);
    }
    await stopAll([a!, b!]);
  });

  test('a delete on one device removes the file on the other', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('gone.md', 'bye\n');
    await a!.vault.writeText('kept.md', 'stay\n');
    await settle([a!, b!]);
    await b!.vault.delete('gone.md');
    await settle([a!, b!]);
    assert.deepEqual(files(a!), { 'kept.md': 'stay\n' });
    assert.deepEqual(files(b!), { 'kept.md': 'stay\n' });
    await stopAll([a!, b!]);
  });

  test('a folder move is one index change and moves every file on the other device', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('F/x.md', 'x\n');
    await a!.vault.writeText('F/sub/y.md', 'y\n');
    await settle([a!, b!]);
    const before = a!.engine.outbox.unsettledCount();
    a!.net.goOffline();
    await a!.vault.rename('F', 'G');
    assert.equal(a!.engine.outbox.items('index').length, 1, 'one index update for the whole move');
    void before;
    a!.net.goOnline();
    a!.engine.reconnect();
    await settle([a!, b!]);
    assert.deepEqual(files(b!), { 'G/sub/y.md': 'y\n', 'G/x.md': 'x\n' });
    await stopAll([a!, b!]);
  });

  test('offline edits survive a crash that lost the stored doc states: the outbox alone brings them back, once', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const [a, b] = await devices(2, vaultId);
    await a!.vault.writeText('c.md', 'before\n');
    await settle([a!, b!]);
    await a!.engine.docs.persistNow();
    await a!.engine.meta.flush();
    // What the store held before the crash: states and meta as of now ...
    const crashed = new MemoryStore();
    for (const k of await a!.store.keys('')) await crashed.put(k, (await a!.store.get(k))!);
    a!.net.goOffline();
    await a!.engine.until(() => !a!.engine.connected);
    await a!.vault.writeText('c.md', 'before\nwritten just before the crash\n');
    await a!.vault.writeText('new.md', 'created just before the crash\n');
    await a!.engine.disk.idle();
    // ... plus every update the outbox wrote (written per update, not behind).
    for (const k of await a!.store.keys('pend/')) await crashed.put(k, (await a!.store.get(k))!);
    a!.engine.disk.stop();
    const again = await device(relay, vaultId, 'A again', { vault: a!.vault, store: crashed });
    await settle([again, b!]);
    assert.equal(b!.vault.snapshot().get('c.md'), 'before\nwritten just before the crash\n');
    assert.equal(b!.vault.snapshot().get('new.md'), 'created just before the crash\n');
    assert.deepEqual(files(again), files(b!));
    assert.equal(again.engine.docs.index.list().length, 2, 'one entry per file: nothing created twice');
    await stopAll([a!, again, b!]);
  });

  test('offline edits survive a restart: a new engine over the same store sends them', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const [a, b] = await devices(2, vaultId);
    await a!.vault.writeText('r.md', 'one\n');
    await settle([a!, b!]);
    a!.net.goOffline();
    const s = await a!.engine.openNote('r.md');
    s.applyLocalEdits([{ from: 4, to: 4, insert: 'typed offline\n' }]);
    s.close();
    await a!.engine.disk.idle();
    await a!.engine.stop();
    const again = await device(relay, vaultId, 'device-0 again', { vault: a!.vault, store: a!.store });
    await settle([again, b!]);
    assert.equal(b!.vault.snapshot().get('r.md'), 'one\ntyped offline\n');
    assert.equal(again.vault.snapshot().get('r.md'), 'one\ntyped offline\n');
    await stopAll([again, b!]);
  });

  test('external disk edits during typing neither duplicate nor lose text', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('typing.md', 'alpha\nbeta\ngamma\n');
    await settle([a!, b!]);
    const s = await a!.engine.openNote('typing.md');
    // The editor types; its autosave lags one keystroke batch behind.
    s.applyLocalEdits([{ from: 6, to: 6, insert: 'typed-1 ' }]);
    const saved = s.text();
    s.applyLocalEdits([{ from: 0, to: 0, insert: 'typed-2 ' }]);
    await a!.vault.writeText('typing.md', saved); // a stale editor save
    // Another app appends to the file on disk (from the stale save).
    await a!.vault.writeText('typing.md', saved + 'from another app\n');
    s.applyLocalEdits([{ from: s.text().length, to: s.text().length, insert: 'typed-3\n' }]);
    await settle([a!, b!]);
    const text = s.text();
    for (const piece of ['typed-1 ', 'typed-2 ', 'typed-3\n', 'from another app\n', 'alpha', 'beta', 'gamma']) {
      assert.equal(text.split(piece).length, 2, `${JSON.stringify(piece)} once in ${JSON.stringify(text)}`);
    }
    s.close();
    await settle([a!, b!]);
    assert.equal(b!.vault.snapshot().get('typing.md'), text);
    await stopAll([a!, b!]);
  });

  test('a read-only token shows Read-only and keeps local edits, refused with a clear status', { timeout: 60_000 }, async () => {
    const vaultId = freshVaultId();
    const [w] = await devices(1, vaultId);
    await w!.vault.writeText('ro.md', 'shared\n');
    await settle([w!]);
    const r = await device(relay, vaultId, 'reader', { scope: 'read' });
    await r.engine.until(() => r.engine.getStatus().state === 'read-only');
    await r.engine.syncNow();
    assert.equal(r.vault.snapshot().get('ro.md'), 'shared\n');
    await r.vault.writeText('ro.md', 'shared\nlocal change\n');
    await r.engine.until(() => r.engine.outbox.rejected().length > 0);
    const st = r.engine.getStatus();
    assert.equal(st.state, 'read-only');
    assert.equal((await r.engine.openNote('ro.md')).readOnly, true, 'the editor is told to refuse typing');
    assert.match(st.reason ?? '', /not saved/);
    assert.ok(r.engine.files().some((f) => f.path === 'ro.md' && f.state === 'refused' && /read-only/.test(f.detail ?? '')));
    assert.equal(r.vault.snapshot().get('ro.md'), 'shared\nlocal change\n', 'local text kept');
    await settle([w!]);
    assert.equal(w!.vault.snapshot().get('ro.md'), 'shared\n');
    await stopAll([w!, r]);
  });
});

void MemoryStore;
void MemoryVault;
void online;
