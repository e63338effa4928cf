// Local updates the relay has not yet made durable. Every one is persisted
// before it is sent, so offline edits survive a restart. Writes (updates and
// sync step 2 replies) are numbered per connection and doc from 1, as the
// relay counts them; `ack{seq}` settles every write up to seq, and
// `error{seq}` marks the updates that write carried as rejected — they stay
// stored (the text is never lost) and are offered again on the next
// connection, which is harmless because the relay applies updates idempotently.
import type { LocalStore } from './ports';

export interface PendingUpdate {
  doc: string;
  n: number;
  update: Uint8Array;
  rejected?: { code: string; text: string };
}

const PENDING = 'pend/';
const REJECTED = 'rej/';
const pad = (n: number) => n.toString().padStart(10, '0');

export class Outbox {
  private readonly pending = new Map<string, PendingUpdate[]>();
  /** Kept as counts: the status bar asks after every frame. */
  private unsettled = 0;
  private refused = 0;
  /** Per doc: writes sent on this connection, each with the updates it carried. */
  private readonly writes = new Map<string, { seq: number; ns: number[] }[]>();
  private readonly seqs = new Map<string, number>();
  /** Update numbers sent on this connection. */
  private readonly sent = new Set<number>();
  private next = 1;

  constructor(private readonly store: LocalStore) {}

  async load(): Promise<void> {
    const rejected = new Set(await this.store.keys(REJECTED));
    for (const key of await this.store.keys(PENDING)) {
      const [doc, n] = key.slice(PENDING.length).split('/') as [string, string];
      const update = await this.store.get(key);
      if (!update) continue;
      const item: PendingUpdate = { doc, n: Number(n), update };
      if (rejected.has(REJECTED + doc + '/' + n)) item.rejected = { code: 'rejected', text: 'refused earlier' };
      this.list(doc).push(item);
      this.next = Math.max(this.next, item.n + 1);
    }
    for (const items of this.pending.values()) {
      items.sort((a, b) => a.n - b.n);
      for (const i of items) i.rejected ? this.refused++ : this.unsettled++;
    }
  }

  /** Records a local update at once (so it can be numbered and sent in
   * order); `saved` settles once it is durable on this device. */
  add(doc: string, update: Uint8Array): { item: PendingUpdate; saved: Promise<void> } {
    const item: PendingUpdate = { doc, n: this.next++, update };
    this.list(doc).push(item);
    this.unsettled++;
    return { item, saved: this.store.put(PENDING + doc + '/' + pad(item.n), update) };
  }

  /** A new connection numbers its writes from 1 again. */
  resetConnection(): void {
    this.writes.clear();
    this.seqs.clear();
    this.sent.clear();
  }

  /** Numbers a write about to be sent for `doc`, carrying `items` (default: all pending). */
  recordWrite(doc: string, items: PendingUpdate[] = this.list(doc)): number {
    const seq = (this.seqs.get(doc) ?? 0) + 1;
    this.seqs.set(doc, seq);
    let w = this.writes.get(doc);
    if (!w) this.writes.set(doc, (w = []));
    w.push({ seq, ns: items.map((i) => i.n) });
    for (const i of items) this.sent.add(i.n);
    return seq;
  }

  /** The relay made writes 1..seq of `doc` durable (or refused some by an earlier error). */
  async ack(doc: string, seq: number): Promise<void> {
    const w = this.writes.get(doc) ?? [];
    const done = new Set<number>();
    while (w.length > 0 && w[0]!.seq <= seq) for (const n of w.shift()!.ns) done.add(n);
    // Only docs with writes in flight stay: inFlight() runs on every status change.
    if (w.length === 0) this.writes.delete(doc);
    // Settled in memory at once (an update added meanwhile is never dropped),
    // then removed from the store.
    const keep: PendingUpdate[] = [];
    const gone: PendingUpdate[] = [];
    for (const item of this.list(doc)) (done.has(item.n) && !item.rejected ? gone : keep).push(item);
    this.setList(doc, keep);
    this.unsettled -= gone.length;
    for (const item of gone) await this.store.delete(PENDING + doc + '/' + pad(item.n));
  }

  /** The relay refused write `seq` of `doc`: its updates are kept, marked rejected. */
  async reject(doc: string, seq: number, code: string, text: string): Promise<PendingUpdate[]> {
    const write = (this.writes.get(doc) ?? []).find((x) => x.seq === seq);
    const ns = new Set(write?.ns ?? []);
    const hit = this.list(doc).filter((i) => ns.has(i.n) && !i.rejected);
    // An ack for this number will follow or already came; either way the write is settled.
    const w = this.writes.get(doc)?.filter((x) => x.seq !== seq);
    if (w && w.length > 0) this.writes.set(doc, w);
    else this.writes.delete(doc);
    for (const item of hit) {
      item.rejected = { code, text };
      this.unsettled--;
      this.refused++;
      await this.store.put(REJECTED + doc + '/' + pad(item.n), new Uint8Array());
    }
    return hit;
  }

  docsWithPending(): string[] {
    return [...this.pending].filter(([, v]) => v.length > 0).map(([k]) => k);
  }
  /** How many updates the relay refused (kept here, never lost). */
  rejectedCount(): number {
    return this.refused;
  }
  items(doc: string): PendingUpdate[] {
    return this.list(doc);
  }
  /** Updates not yet durable and not refused. */
  unsettledCount(): number {
    return this.unsettled;
  }
  rejected(): PendingUpdate[] {
    return [...this.pending.values()].flat().filter((i) => i.rejected);
  }
  /** Updates of `doc` not yet sent on this connection (refused ones are offered once per connection). */
  unsent(doc: string): PendingUpdate[] {
    return this.list(doc).filter((i) => !this.sent.has(i.n));
  }
  /** Docs with a write awaiting its ack. */
  docsInFlight(): number {
    return this.writes.size;
  }
  docInFlight(doc: string): boolean {
    return this.writes.has(doc);
  }
  /** True while a write of this connection awaits its ack. */
  inFlight(): boolean {
    for (const w of this.writes.values()) if (w.length > 0) return true;
    return false;
  }

  private list(doc: string): PendingUpdate[] {
    let l = this.pending.get(doc);
    if (!l) this.pending.set(doc, (l = []));
    return l;
  }
  private setList(doc: string, items: PendingUpdate[]): void {
    if (items.length === 0) this.pending.delete(doc);
    else this.pending.set(doc, items);
  }
}
