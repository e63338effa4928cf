// Small per-vault bookkeeping kept next to the docs: the relay's change
// cursor, which index entries this device created (it resolves their path
// conflicts), where each file was last placed on disk and the hash of what is
// on disk (how the engine recognises its own writes across restarts).
import type { LocalStore } from './ports';

const KEY = 'meta';

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
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly store: LocalStore) {}

  async load(): Promise<void> {
    const raw = await this.store.get(KEY);
    if (raw) this.data = { ...this.data, ...(JSON.parse(new TextDecoder().decode(raw)) as Partial<MetaData>) };
  }

  save(): Promise<void> {
    this.saving = this.saving.then(() =>
      this.store.put(KEY, new TextEncoder().encode(JSON.stringify(this.data))),
    );
    return this.saving;
  }
}
