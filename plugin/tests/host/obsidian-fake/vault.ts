// The vault as the plugin sees it: TFile/TFolder, Vault with its events, the
// DataAdapter (plugin state files), FileManager. Files live in memory in the page.
//
// Event behaviour, with sources:
// - create/modify/delete/rename fire after the change is made (obsidian.d.ts,
//   Vault.on(...) overloads). Obsidian renames a TAbstractFile in place: the
//   same TFile object gets the new path, so an open view follows it.
// - A folder rename fires `rename` for the folder, then for every descendant
//   with its own old path (obsidian-api#50: "rename event is triggered" for
//   moves; MemoryVault in src/core/engine/memory.ts models the same order).
// - A folder delete: whether Obsidian also fires `delete` for each file inside
//   is uncertain. Plugins that filtered TFolder deletes kept stale entries
//   (MohrJonas/obsidian-ocr#18, Fertion/Obsidian_Better_trash#1), which means
//   the folder's event can be the only one. Both variants: `folderDeleteEvents`.
import { Events } from './events';

export function normalizePath(path: string): string {
  return path.replace(/[\\/]+/g, '/').replace(/^\/|\/$/g, '') || '/';
}

export abstract class TAbstractFile {
  vault!: Vault;
  parent: TFolder | null = null;
  constructor(public path: string) {}
  get name(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }
}

export class TFile extends TAbstractFile {
  stat = { ctime: Date.now(), mtime: Date.now(), size: 0 };
  get basename(): string {
    return this.name.replace(/\.[^.]*$/, '');
  }
  get extension(): string {
    const dot = this.name.lastIndexOf('.');
    return dot < 0 ? '' : this.name.slice(dot + 1);
  }
}

export class TFolder extends TAbstractFile {
  get children(): TAbstractFile[] {
    return [...this.vault.allFiles()].filter((f) => f.parent === this);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** DataAdapter over a map (the plugin keeps its state files there). */
export class MemoryAdapter {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>();
  async exists(p: string): Promise<boolean> {
    return this.files.has(p) || this.dirs.has(p);
  }
  async readBinary(p: string): Promise<ArrayBuffer> {
    const b = this.files.get(p);
    if (!b) throw new Error(`ENOENT ${p}`);
    return b.slice().buffer;
  }
  async writeBinary(p: string, data: ArrayBuffer): Promise<void> {
    this.files.set(p, new Uint8Array(data.slice(0)));
  }
  async read(p: string): Promise<string> {
    return dec.decode(await this.readBinary(p));
  }
  async write(p: string, text: string): Promise<void> {
    this.files.set(p, enc.encode(text));
  }
  async remove(p: string): Promise<void> {
    this.files.delete(p);
  }
  async mkdir(p: string): Promise<void> {
    this.dirs.add(p);
  }
  async list(p: string): Promise<{ files: string[]; folders: string[] }> {
    const files = [...this.files.keys()].filter((f) => f.startsWith(p + '/') && !f.slice(p.length + 1).includes('/'));
    return { files, folders: [] };
  }
}

export class Vault extends Events {
  readonly adapter = new MemoryAdapter();
  readonly configDir = '.obsidian';
  private readonly byPath = new Map<string, TAbstractFile>();
  private readonly data = new Map<TFile, Uint8Array>();
  /** See the top of this file. */
  folderDeleteEvents: 'folder-only' | 'files-then-folder' = 'folder-only';
  /** Extra latency of each write, as a slow disk or a sync client's lock would add. */
  diskDelayMs = 0;

  /** obsidian.d.ts Vault.getName(): the vault's folder name, as the vault switcher shows it. */
  name = 'Test Vault';
  getName(): string {
    return this.name;
  }

  allFiles(): IterableIterator<TAbstractFile> {
    return this.byPath.values();
  }
  getFiles(): TFile[] {
    return [...this.byPath.values()].filter((f): f is TFile => f instanceof TFile);
  }
  getMarkdownFiles(): TFile[] {
    return this.getFiles().filter((f) => f.extension === 'md');
  }
  getAbstractFileByPath(path: string): TAbstractFile | null {
    return this.byPath.get(normalizePath(path)) ?? null;
  }

  /** The text at `path` now, for test assertions (not Obsidian API). */
  peek(path: string): string | undefined {
    const f = this.byPath.get(normalizePath(path));
    const b = f instanceof TFile ? this.data.get(f) : undefined;
    return b && dec.decode(b);
  }
  async read(file: TFile): Promise<string> {
    return dec.decode(this.bytes(file));
  }
  async cachedRead(file: TFile): Promise<string> {
    return this.read(file);
  }
  async readBinary(file: TFile): Promise<ArrayBuffer> {
    return this.bytes(file).slice().buffer;
  }
  async create(path: string, text: string): Promise<TFile> {
    return this.createBinaryData(path, enc.encode(text));
  }
  async createBinary(path: string, data: ArrayBuffer): Promise<TFile> {
    return this.createBinaryData(path, new Uint8Array(data.slice(0)));
  }
  async modify(file: TFile, text: string): Promise<void> {
    await this.write(file, enc.encode(text));
  }
  async modifyBinary(file: TFile, data: ArrayBuffer): Promise<void> {
    await this.write(file, new Uint8Array(data.slice(0)));
  }
  async createFolder(path: string): Promise<TFolder> {
    const p = normalizePath(path);
    if (this.byPath.has(p)) throw new Error('Folder already exists.');
    const folder = this.track(new TFolder(p));
    this.trigger('create', folder);
    return folder;
  }

  async rename(file: TAbstractFile, newPath: string): Promise<void> {
    const to = normalizePath(newPath);
    if (this.byPath.has(to)) throw new Error('Destination file already exists!');
    const from = file.path;
    this.ensureFolders(to);
    const moved: [TAbstractFile, string][] = [[file, from]];
    if (file instanceof TFolder) {
      for (const f of [...this.byPath.values()]) if (f.path.startsWith(from + '/')) moved.push([f, f.path]);
    }
    for (const [f, old] of moved) {
      this.byPath.delete(old);
      f.path = to + old.slice(from.length);
      this.byPath.set(f.path, f);
      f.parent = this.parentOf(f.path);
    }
    for (const [f, old] of moved) this.trigger('rename', f, old);
  }

  async delete(file: TAbstractFile): Promise<void> {
    const inside = [...this.byPath.values()].filter((f) => f.path.startsWith(file.path + '/'));
    for (const f of [file, ...inside]) {
      this.byPath.delete(f.path);
      if (f instanceof TFile) this.data.delete(f);
    }
    if (file instanceof TFolder && this.folderDeleteEvents === 'files-then-folder') {
      for (const f of inside.reverse()) this.trigger('delete', f);
    }
    this.trigger('delete', file);
  }

  private bytes(file: TFile): Uint8Array {
    const b = this.data.get(file);
    if (!b || this.byPath.get(file.path) !== file) throw new Error(`ENOENT: ${file.path}`);
    return b;
  }
  private async createBinaryData(path: string, bytes: Uint8Array): Promise<TFile> {
    const p = normalizePath(path);
    if (this.byPath.has(p)) throw new Error('File already exists.');
    this.ensureFolders(p);
    const file = this.track(new TFile(p));
    await this.delay();
    this.data.set(file, bytes);
    file.stat = { ctime: Date.now(), mtime: Date.now(), size: bytes.length };
    this.trigger('create', file);
    return file;
  }
  private async write(file: TFile, bytes: Uint8Array): Promise<void> {
    await this.delay();
    if (this.byPath.get(file.path) !== file) throw new Error(`ENOENT: ${file.path}`);
    this.data.set(file, bytes);
    file.stat = { ...file.stat, mtime: Date.now(), size: bytes.length };
    this.trigger('modify', file);
  }
  private delay(): Promise<void> {
    return this.diskDelayMs > 0 ? new Promise((r) => setTimeout(r, this.diskDelayMs)) : Promise.resolve();
  }
  private track<T extends TAbstractFile>(f: T): T {
    f.vault = this;
    f.parent = this.parentOf(f.path);
    this.byPath.set(f.path, f);
    return f;
  }
  private parentOf(path: string): TFolder | null {
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    const f = dir ? this.byPath.get(dir) : undefined;
    return f instanceof TFolder ? f : null;
  }
  private ensureFolders(path: string): void {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!this.byPath.has(dir)) this.trigger('create', this.track(new TFolder(dir)));
    }
  }
}

/** FileManager.trashFile (obsidian.d.ts, since 1.6.6) and renameFile. */
export class FileManager {
  constructor(private readonly vault: Vault) {}
  async trashFile(file: TAbstractFile): Promise<void> {
    await this.vault.delete(file);
  }
  async renameFile(file: TAbstractFile, newPath: string): Promise<void> {
    await this.vault.rename(file, newPath);
  }
}
