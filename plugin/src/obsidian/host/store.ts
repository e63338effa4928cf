// LocalStore in the plugin's own folder (.obsidian/plugins/tessera-sync/state/),
// through the DataAdapter, so it works on desktop and mobile alike and is
// excluded from sync by the default ignore globs. One file per key.
import type { DataAdapter } from 'obsidian';
import type { LocalStore } from '../../core/port';

export class PluginFolderStore implements LocalStore {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly adapter: DataAdapter,
    private readonly dir: string,
  ) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    if (!(await this.adapter.exists(path))) return undefined;
    return new Uint8Array(await this.adapter.readBinary(path));
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.ensureDir();
    const buffer = value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
    await this.adapter.writeBinary(this.pathOf(key), buffer);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    if (await this.adapter.exists(path)) await this.adapter.remove(path);
  }

  async keys(prefix: string): Promise<string[]> {
    if (!(await this.adapter.exists(this.dir))) return [];
    const listed = await this.adapter.list(this.dir);
    return listed.files
      .map((path) => decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)))
      .filter((key) => key.startsWith(prefix));
  }

  /** Keys may hold `/` and other characters a file name cannot. */
  private pathOf(key: string): string {
    return `${this.dir}/${encodeURIComponent(key)}`;
  }

  private ensureDir(): Promise<void> {
    this.ready ??= (async () => {
      if (!(await this.adapter.exists(this.dir))) await this.adapter.mkdir(this.dir);
    })();
    return this.ready;
  }
}
