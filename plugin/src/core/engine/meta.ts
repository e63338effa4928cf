// Small per-vault bookkeeping kept next to the docs: the relay's change
// cursor, which index entries this device created (it resolves their path
// conflicts), where each file was last placed on disk and the hash of what is
// on disk (how the engine recognises its own writes across restarts).
import type { Clock, LocalStore } from './ports';
import { WriteBehind } from './write-behind';

const KEY = 'meta';
/** The record grows with the vault (a hash per file): saved at most this often. */
const SAVE_PERIOD_MS = 250;

export interface MetaData {
  epoch: string;
  cursor: number;
  created: string[];
  /** file id → path it has on this device's disk */
  placed: Record<string, string>;
  /** path → blake3 of the content the engine last wrote or read there */
  disk: Record<string, string>;
}

export class Meta {
  data: MetaData = { epoch: '', cursor: 0, created: [], placed: {}, disk: {} };
  private readonly writer: WriteBehind;

  constructor(
    private readonly store: LocalStore,
    clock: Clock,
  ) {
    this.writer = new WriteBehind(clock, SAVE_PERIOD_MS, () =>
      this.store.put(KEY, new TextEncoder().encode(JSON.stringify(this.data))),
    );
  }

  async load(): Promise<void> {
    const raw = await this.store.get(KEY);
    if (raw) this.data = { ...this.data, ...(JSON.parse(new TextDecoder().decode(raw)) as Partial<MetaData>) };
  }

  /** Saves soon (coalesced); resolves once saved. */
  save(): Promise<void> {
    return this.writer.request();
  }

  /** Saves now: the engine is stopping. */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}
