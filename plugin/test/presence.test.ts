// Live cursors over the real relay: peers' cursors travel as Yjs relative
// positions, so they follow text typed by anyone without being sent again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, device, freshVaultId, settle, stopAll, type Device } from './harness';
import { decodeAwarenessUpdate, encodeAwarenessFrame, encodeAwarenessUpdate } from '../src/core/engine/core';
import type { OpenNote } from '../src/core/engine/session';
import type { Presence } from '../src/core/contract';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

async function devices(n: number, vault = freshVaultId()): Promise<Device[]> {
  const out: Device[] = [];
  for (let i = 0; i < n; i++) out.push(await device(relay, vault, `device-${i}`));
  await settle(out);
  return out;
}

/** What a device's editor is told about its peers, as the latest call. */
class Watch {
  peers: Presence[] = [];
  calls = 0;
  private waiters: { ready: () => boolean; resolve: () => void }[] = [];

  constructor(session: OpenNote) {
    session.onPresence((peers) => {
      this.peers = peers;
      this.calls++;
      this.waiters = this.waiters.filter((w) => !(w.ready() && (w.resolve(), true)));
    });
  }

  peer(clientId: number): Presence | undefined {
    return this.peers.find((p) => p.clientId === clientId);
  }

  /** Resolves once the latest presence satisfies `ready` (the test's timeout guards against hangs). */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }
}

/** Opens `path` on every device, returning the engine's sessions. */
async function open(ds: Device[], path: string): Promise<OpenNote[]> {
  return Promise.all(ds.map(async (d) => (await d.engine.openNote(path)) as OpenNote));
}

/** From now on this session sends no presence of its own (renewals included). */
function silence(session: OpenNote): () => number {
  let attempts = 0;
  session.presence.announce = () => void attempts++;
  return () => attempts;
}

/** Sends a raw awareness state for `client` through `via`'s connection to the relay. */
function sendRaw(via: OpenNote, client: number, clock: number, state: string): void {
  via.presence['send'](encodeAwarenessFrame(via.docId, encodeAwarenessUpdate(client, clock, state)));
}

describe('live cursors over the real relay', { timeout: 600_000 }, () => {
  test("a peer's cursor moves by exactly the length of text this device inserts before it, with nothing sent by the peer", { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('n.md', 'hello world\n');
    await settle([a!, b!]);
    const [sa, sb] = await open([a!, b!], 'n.md');
    const seen = new Watch(sa!);
    const bId = b!.engine.docs.clientId;

    sb!.setLocalSelection({ anchor: 5, head: 5 }); // right after "hello"
    await seen.until(() => seen.peer(bId)?.head === 5);
    assert.deepEqual(seen.peer(bId), { clientId: bId, name: 'device-1', color: '#ff0000', anchor: 5, head: 5 });
    const sent = silence(sb!);

    const inserted = 'Well, ';
    const before = seen.calls;
    sa!.applyLocalEdits([{ from: 0, to: 0, insert: inserted }]);
    // Synchronously, in the same call: no message from B could have arrived.
    assert.ok(seen.calls > before, 'listeners told at once');
    assert.equal(seen.peer(bId)?.anchor, 5 + inserted.length);
    assert.equal(seen.peer(bId)?.head, 5 + inserted.length);
    assert.equal(sa!.text().slice(0, seen.peer(bId)!.head!), 'Well, hello');

    // Text after the cursor does not move it, and nobody is told anything.
    const calls = seen.calls;
    sa!.applyLocalEdits([{ from: 14, to: 14, insert: ' big' }]);
    assert.equal(seen.calls, calls);
    assert.equal(seen.peer(bId)?.head, 11);
    assert.equal(sent(), 0, 'B sent nothing');

    sa!.close();
    sb!.close();
    await stopAll([a!, b!]);
  });

  test("a third device's typing before a peer's cursor moves that cursor on this device, with nothing sent by the peer", { timeout: 60_000 }, async () => {
    const [a, b, c] = await devices(3);
    await a!.vault.writeText('t.md', 'one two three\n');
    await settle([a!, b!, c!]);
    const [sa, sb, sc] = await open([a!, b!, c!], 't.md');
    const seen = new Watch(sa!);
    const bId = b!.engine.docs.clientId;

    // B selects "two" backwards: anchor after it, head before it.
    sb!.setLocalSelection({ anchor: 7, head: 4 });
    await seen.until(() => seen.peer(bId)?.anchor === 7 && seen.peer(bId)?.head === 4);
    const sent = silence(sb!);

    const inserted = 'zero 🌍 ';
    sc!.applyLocalEdits([{ from: 0, to: 0, insert: inserted }]);
    await seen.until(() => seen.peer(bId)?.anchor === 7 + inserted.length);
    assert.equal(seen.peer(bId)?.head, 4 + inserted.length);
    const { anchor, head } = seen.peer(bId)!;
    assert.equal(sa!.text().slice(head!, anchor!), 'two');
    assert.equal(sent(), 0, 'B sent nothing');

    for (const s of [sa!, sb!, sc!]) s.close();
    await stopAll([a!, b!, c!]);
  });

  test('this device sends its cursor as Yjs relative positions (the y-codemirror.next awareness shape)', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('s.md', 'abc\n');
    await settle([a!, b!]);
    const [sa, sb] = await open([a!, b!], 's.md');
    const seen = new Watch(sa!);
    const bId = b!.engine.docs.clientId;
    const states: unknown[] = [];
    const receive = sa!.presence.receive.bind(sa!.presence);
    sa!.presence.receive = (update) => {
      states.push(...decodeAwarenessUpdate(update));
      receive(update);
    };
    sb!.setLocalSelection({ anchor: 1, head: 4 });
    await seen.until(() => seen.peer(bId)?.head === 4);
    const last = states.filter((s) => (s as { client: number }).client === bId).at(-1) as { state: unknown };
    const item = (s: unknown) => s as { item: { client: number; clock: number }; assoc: number };
    const { cursor, user } = last.state as { cursor: { anchor: unknown; head: unknown }; user: unknown };
    assert.deepEqual(user, { name: 'device-1', color: '#ff0000' });
    assert.equal(item(cursor.anchor).assoc, 0);
    assert.equal((cursor.anchor as { tname?: string }).tname, 'content');
    assert.equal(typeof item(cursor.anchor).item.client, 'number');
    assert.deepEqual(cursor.head, { tname: 'content', assoc: 0 }, 'the end of the text names the text');
    sa!.close();
    sb!.close();
    await stopAll([a!, b!]);
  });

  test('a malformed cursor from a peer is ignored: no throw, the peer is shown without a cursor', { timeout: 60_000 }, async () => {
    const [a, b] = await devices(2);
    await a!.vault.writeText('m.md', 'hello\n');
    await settle([a!, b!]);
    const [sa, sb] = await open([a!, b!], 'm.md');
    const seen = new Watch(sa!);
    const bad = [
      { anchor: { item: { client: 'x', clock: 0 } }, head: { item: { client: 1, clock: 0 } } },
      { anchor: { item: { client: 2 ** 60, clock: 0 }, assoc: 0 }, head: 'nonsense' },
      { anchor: { tname: 'not-the-text' }, head: { tname: 'not-the-text' } },
      { anchor: { item: { client: 123456, clock: 99 } }, head: { item: { client: 123456, clock: 99 } } },
      { anchor: -1, head: 2.5 },
      { anchor: [], head: {} },
      'cursor',
      42,
    ];
    let client = 910_000;
    for (const cursor of bad) {
      client++;
      sendRaw(sb!, client, 1, JSON.stringify({ user: { name: `bad-${client}`, color: 7 }, cursor }));
      await seen.until(() => seen.peer(client) !== undefined);
      assert.deepEqual(seen.peer(client), { clientId: client, name: `bad-${client}`, color: '#888888', anchor: null, head: null }, JSON.stringify(cursor));
    }
    // State that is not an object at all: the peer counts as gone.
    sendRaw(sb!, ++client, 1, '"just a string"');
    sendRaw(sb!, ++client, 1, JSON.stringify({ user: 'x', cursor: null }));
    await seen.until(() => seen.peer(client) !== undefined);
    assert.equal(seen.peer(client - 1), undefined);
    assert.deepEqual(seen.peer(client), { clientId: client, name: 'device', color: '#888888', anchor: null, head: null });

    // An older client's absolute offsets are still shown (kept inside the text).
    sendRaw(sb!, ++client, 1, JSON.stringify({ user: { name: 'old', color: '#00ff00' }, cursor: { anchor: 1, head: 99 } }));
    await seen.until(() => seen.peer(client) !== undefined);
    assert.deepEqual(seen.peer(client), { clientId: client, name: 'old', color: '#00ff00', anchor: 1, head: sa!.text().length });

    // The channel still works: B's real cursor arrives and follows A's typing.
    const bId = b!.engine.docs.clientId;
    sb!.setLocalSelection({ anchor: 2, head: 2 });
    await seen.until(() => seen.peer(bId)?.head === 2);
    sa!.applyLocalEdits([{ from: 0, to: 0, insert: '>' }]);
    assert.equal(seen.peer(bId)?.head, 3);
    sa!.close();
    sb!.close();
    await stopAll([a!, b!]);
  });
});
