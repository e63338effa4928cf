// How much one connection asks of the relay at once. Asking for a whole
// vault's docs (step 1 each) or sending a whole vault's pending writes in one
// burst would have the relay queue thousands of replies or acks for this
// socket and drop it as too slow (4429), and the sync would start over. So
// step 1 requests and writes go out through windows, in the order asked.
import { encodeStep1, encodeUpdate, mergeUpdates } from './core';
import type { Outbox } from './outbox';

/** Step 1 requests awaiting their step 2 at once. */
const MAX_STEPPING = 32;
/** Docs with a write awaiting its ack at once. */
const MAX_WRITING = 64;
/** A Yjs state vector with no clients: "send me everything". */
const EMPTY_STATE_VECTOR = Uint8Array.of(0);

export interface FlowHost {
  send(frame: Uint8Array): void;
  /** The doc's state vector, when it is in memory. */
  stateVector(doc: string): Uint8Array | undefined;
  /** A frame for `doc` goes out: the connection now follows it. */
  follow(doc: string): void;
}

export class Flow {
  /** Sets keep the order things were asked in. */
  private readonly stepQueue = new Set<string>();
  private readonly stepping = new Set<string>();
  private readonly writeQueue = new Set<string>();

  constructor(
    private readonly outbox: Outbox,
    private readonly host: FlowHost,
  ) {}

  /** Asks for `doc`'s content (sync step 1) when a slot is free. */
  ask(doc: string): void {
    this.stepQueue.add(doc);
    this.pumpSteps();
  }

  /** `doc`'s step 2 arrived, or the relay refused the doc: its slot is free. */
  answered(doc: string): void {
    if (this.stepping.delete(doc)) this.pumpSteps();
  }

  /** Sends `doc`'s unsent updates. Typing into a doc already in flight is
   * never held back; a burst over many docs waits for write slots. */
  write(doc: string): void {
    if (this.writeQueue.size === 0 && (this.outbox.docsInFlight() < MAX_WRITING || this.outbox.docInFlight(doc))) {
      this.send(doc);
    } else {
      this.writeQueue.add(doc);
    }
  }

  /** Queues every doc's unsent updates (a new connection) and starts sending. */
  writeAll(docs: Iterable<string>): void {
    for (const doc of docs) this.writeQueue.add(doc);
    this.pumpWrites();
  }

  /** An ack or a refusal settled a write: send more. */
  pumpWrites(): void {
    while (this.outbox.docsInFlight() < MAX_WRITING) {
      const next = this.writeQueue.values().next();
      if (next.done) return;
      this.writeQueue.delete(next.value);
      this.send(next.value);
    }
  }

  /** Nothing waits for a write slot. */
  idle(): boolean {
    return this.writeQueue.size === 0;
  }

  /** The connection ended: nothing asked on it is outstanding any more. */
  reset(): void {
    this.stepQueue.clear();
    this.stepping.clear();
    this.writeQueue.clear();
  }

  private pumpSteps(): void {
    while (this.stepping.size < MAX_STEPPING) {
      const next = this.stepQueue.values().next();
      if (next.done) return;
      const doc = next.value;
      this.stepQueue.delete(doc);
      this.stepping.add(doc);
      // The state vector as of sending; a doc not in memory asks for everything.
      this.host.send(encodeStep1(doc, this.host.stateVector(doc) ?? EMPTY_STATE_VECTOR));
    }
  }

  /** One write per doc: its unsent updates, merged. */
  private send(doc: string): void {
    const items = this.outbox.unsent(doc);
    if (items.length === 0) return;
    const update = items.length === 1 ? items[0]!.update : mergeUpdates(items.map((i) => i.update));
    this.outbox.recordWrite(doc, items);
    this.host.follow(doc);
    this.host.send(encodeUpdate(doc, update));
  }
}
