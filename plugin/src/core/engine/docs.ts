// The CRDT documents of one vault on this device: the index and one note per
// file id, each restored from and written back to the LocalStore. A state is
// written after every change, coalesced so a burst of keystrokes costs one
// write per doc and never races with an older write of the same doc.
import { WasmIndex, WasmNote, randomClientId } from './core';
import type { Clock, LocalStore } from './ports';
import { WriteBehind } from './write-behind';

export const INDEX = 'index';
const DOC = 'doc/';
/** Encoding the index costs O(vault): states are written at most this often
 * (the outbox holds every update until the relay has it, reapplied on start). */
const WRITE_PERIOD_MS = 250;

export class Docs {
  /** One client id per engine run: a restart never reuses a Yjs clock. */
  readonly clientId = randomClientId();
  index!: WasmIndex;
  private readonly notes = new Map<string, WasmNote>();
  private readonly dirty = new Set<string>();
  private readonly writer: WriteBehind;

  constructor(
    private readonly store: LocalStore,
    clock: Clock,
  ) {
    this.writer = new WriteBehind(clock, WRITE_PERIOD_MS, () => this.flush());
  }

  async load(): Promise<void> {
    const state = await this.store.get(DOC + INDEX);
    this.index = state ? WasmIndex.fromUpdate(this.clientId, state) : new WasmIndex(this.clientId);
  }

  /** The note with this id, loaded from the store or created empty. */
  async note(id: string): Promise<WasmNote> {
    const have = this.notes.get(id);
    if (have) return have;
    const state = await this.store.get(DOC + id);
    // Another caller may have loaded it while we awaited.
    const again = this.notes.get(id);
    if (again) return again;
    const note = state ? WasmNote.fromUpdate(this.clientId, state) : new WasmNote(this.clientId);
    this.notes.set(id, note);
    return note;
  }

  loaded(id: string): WasmNote | undefined {
    return this.notes.get(id);
  }

  async storedIds(): Promise<string[]> {
    return (await this.store.keys(DOC)).map((k) => k.slice(DOC.length)).filter((k) => k !== INDEX);
  }

  stateVector(doc: string): Uint8Array | undefined {
    return doc === INDEX ? this.index.stateVector() : this.notes.get(doc)?.stateVector();
  }

  /** Marks a doc changed and writes its state soon; the promise settles once written. */
  persist(doc: string): Promise<void> {
    this.dirty.add(doc);
    return this.writer.request();
  }

  /** Writes every changed doc now: the engine is stopping. */
  persistNow(): Promise<void> {
    return this.writer.flush();
  }

  private async flush(): Promise<void> {
    const docs = [...this.dirty];
    this.dirty.clear();
    for (const doc of docs) {
      const state = doc === INDEX ? this.index.encodeState() : this.notes.get(doc)?.encodeState();
      if (state) await this.store.put(DOC + doc, state);
    }
  }
}
