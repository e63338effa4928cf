// Resync after being offline (issue 15): a cursor the device stores never
// passes a change it has not fetched, however the relay's frames interleave.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Relay, TestTransport, device, freshVaultId, online, settle, stopAll } from './harness';
import type { Connection, ConnectionHandlers } from '../src/core/engine/ports';

let relay: Relay;
before(async () => (relay = await Relay.start()));
after(async () => relay.stop());

const CHANGES_SINCE = 101;
const STEP2 = 'sync:1';

/** The doc id and message kind of a vault frame: `varString(doc)` then one y-protocols message. */
function classify(frame: Uint8Array): { doc: string; kind: string } {
  let i = 0;
  const varUint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = frame[i++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
    }
  };
  const len = varUint();
  const doc = new TextDecoder().decode(frame.subarray(i, i + len));
  i += len;
  const type = varUint();
  return { doc, kind: type === 0 ? `sync:${varUint()}` : String(type) };
}

/**
 * A network whose uplink can be held back frame by frame (a slow uplink:
 * the frames were sent, the relay has not read them yet), and which records
 * what arrives.
 */
class SlowUplink extends TestTransport {
  holding: ((f: Uint8Array) => boolean) | undefined;
  private held: { send: (f: Uint8Array) => void; frame: Uint8Array }[] = [];
  readonly received: { doc: string; kind: string }[] = [];

  override open(url: string, h: ConnectionHandlers, protocols?: string[]): Connection {
    const conn = super.open(url, {
      ...h,
      onMessage: (f) => {
        this.received.push(classify(f));
        h.onMessage(f);
      },
    }, protocols);
    return {
      send: (frame) => {
        if (this.holding?.(frame)) this.held.push({ send: (f) => conn.send(f), frame });
        else conn.send(frame);
      },
      close: (code, reason) => conn.close(code, reason),
    };
  }

  /** Lets held frames that `which` selects through, in order. */
  release(which: (f: Uint8Array) => boolean): void {
    const keep: typeof this.held = [];
    for (const h of this.held) (which(h.frame) ? h.send(h.frame) : keep.push(h));
    this.held = keep;
  }

  /** Frames still held are lost with the socket. */
  override goOffline(): void {
    this.held = [];
    super.goOffline();
  }
}

const isChangesSince = (f: Uint8Array) => {
  const c = classify(f);
  return c.doc === '' && c.kind === String(CHANGES_SINCE);
};

describe('resync after being offline', { timeout: 120_000 }, () => {
  test('an announcement racing the answer to changes-since cannot make a device skip notes edited while it was offline', { timeout: 90_000 }, async () => {
    const vault = freshVaultId();
    // No periodic poll: only the resync rule decides what B fetches.
    const quiet = { engine: { renewMs: 3_600_000 } };
    const a = await device(relay, vault, 'A', quiet);
    const net = new SlowUplink();
    const b = await device(relay, vault, 'B', { ...quiet, net });
    for (let i = 0; i < 5; i++) await a.vault.writeText(`offline/${i}.md`, `note ${i}\n`);
    await a.vault.writeText('open.md', 'B keeps this note open\n');
    await settle([a, b]);
    const open = await b.engine.openNote('open.md');
    await b.engine.whenIdle();

    // B goes offline; A edits the five notes, durably.
    net.goOffline();
    for (let i = 0; i < 5; i++) await a.vault.writeText(`offline/${i}.md`, `note ${i}\nedited while B was away\n`);
    await a.engine.whenIdle();

    // B reconnects on a slow uplink: nothing it sends reaches the relay yet.
    net.holding = () => true;
    const hellos = net.received.filter((r) => r.kind === '104').length;
    net.goOnline();
    await b.engine.until(() => net.received.filter((r) => r.kind === '104').length > hellos);

    // A types into the note B has open, and it becomes durable.
    const sa = await a.engine.openNote('open.md');
    sa.applyLocalEdits([{ from: 0, to: 0, insert: 'A types here. ' }]);
    await a.engine.whenIdle();

    // The relay reads all of B's greeting but the changes-since; B gets the
    // open note's step 2 (after anything the relay sent before it).
    const step2s = net.received.length;
    net.release((f) => !isChangesSince(f));
    net.holding = isChangesSince;
    await b.engine.until(() => net.received.slice(step2s).some((r) => r.kind === STEP2 && r.doc !== 'index'));
    // Give a wrongly completed round time to store its cursor.
    await new Promise((r) => setTimeout(r, 500));

    // The socket drops with the changes-since unanswered; the next connection resumes.
    net.goOffline();
    net.holding = undefined;
    net.goOnline();
    await online(b);
    await settle([a, b]);
    for (let i = 0; i < 5; i++) {
      assert.equal(b.vault.snapshot().get(`offline/${i}.md`), `note ${i}\nedited while B was away\n`, `offline/${i}.md on B`);
    }
    open.close();
    sa.close();
    await stopAll([a, b]);
  });
});
