// In-memory implementations of the ports, for tests and for trying the
// engine without a host. The vault reports every mutation as an event, even
// the engine's own writes, as Obsidian's vault does: the engine must tell
// them apart by content hash.
import type { Clock, FileInfo, LocalStore, Timer, VaultEvent, VaultFiles } from './ports';

export class MemoryStore implements LocalStore {
  private readonly map = new Map<string, Uint8Array>();
  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.map.get(key);
    return v && v.slice();
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    this.map.set(key, value.slice());
  }
  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }
  async keys(prefix: string): Promise<string[]> {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }
}

interface MemFile {
  bytes: Uint8Array;
  mtime: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class MemoryVault implements VaultFiles {
  private readonly files = new Map<string, MemFile>();
  private readonly listeners = new Set<(e: VaultEvent) => void>();
  private tick = 1;

  /** Snapshot of every file's text (binary files decoded lossily); for assertions. */
  snapshot(): Map<string, string> {
    return new Map([...this.files].map(([p, f]) => [p, dec.decode(f.bytes)]));
  }
  has(path: string): boolean {
    return this.files.has(path);
  }
  async list(): Promise<FileInfo[]> {
    return [...this.files].map(([path, f]) => ({ path, mtime: f.mtime, size: f.bytes.length }));
  }
  async stat(path: string): Promise<FileInfo | undefined> {
    const f = this.files.get(path);
    return f && { path, mtime: f.mtime, size: f.bytes.length };
  }
  async readText(path: string): Promise<string> {
    return dec.decode(this.need(path).bytes);
  }
  async readBinary(path: string): Promise<Uint8Array> {
    return this.need(path).bytes.slice();
  }
  async writeText(path: string, text: string): Promise<void> {
    this.put(path, enc.encode(text));
  }
  async writeBinary(path: string, bytes: Uint8Array): Promise<void> {
    this.put(path, bytes.slice());
  }
  async delete(path: string): Promise<void> {
    if (!this.files.delete(path)) throw new Error(`no such file: ${path}`);
    this.emit({ type: 'delete', path });
  }
  /**
   * Deletes a folder and everything in it. `events` says how the host reports
   * it: the folder alone (what plugins that filter TFolder deletes found:
   * MohrJonas/obsidian-ocr#18), or each file first and then the folder.
   */
  async deleteFolder(folder: string, events: 'folder-only' | 'files-then-folder' = 'folder-only'): Promise<void> {
    const prefix = folder + '/';
    const inside = [...this.files.keys()].filter((p) => p.startsWith(prefix));
    for (const p of inside) this.files.delete(p);
    if (events === 'files-then-folder') for (const p of inside) this.emit({ type: 'delete', path: p });
    this.emit({ type: 'delete', path: folder, folder: true });
  }
  async rename(from: string, to: string): Promise<void> {
    const prefix = from + '/';
    const children = [...this.files.keys()].filter((p) => p.startsWith(prefix));
    if (children.length > 0) {
      // A folder: Obsidian reports the folder, then each file inside it.
      for (const p of children) this.move(p, to + '/' + p.slice(prefix.length));
      this.emit({ type: 'rename', path: to, oldPath: from });
      for (const p of children) this.emit({ type: 'rename', path: to + '/' + p.slice(prefix.length), oldPath: p });
      return;
    }
    this.move(from, to);
    this.emit({ type: 'rename', path: to, oldPath: from });
  }
  onEvent(listener: (e: VaultEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private move(from: string, to: string): void {
    const f = this.need(from);
    if (this.files.has(to)) throw new Error(`destination exists: ${to}`);
    this.files.delete(from);
    this.files.set(to, f);
  }
  private put(path: string, bytes: Uint8Array): void {
    const existed = this.files.has(path);
    this.files.set(path, { bytes, mtime: this.tick++ });
    this.emit({ type: existed ? 'modify' : 'create', path });
  }
  private need(path: string): MemFile {
    const f = this.files.get(path);
    if (!f) throw new Error(`no such file: ${path}`);
    return f;
  }
  private emit(e: VaultEvent): void {
    for (const l of this.listeners) l(e);
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): Timer {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
