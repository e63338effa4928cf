// VaultFiles over Obsidian's Vault API. Events are forwarded as they come;
// the engine tells its own writes apart by content hash.
import { normalizePath, TFile, TFolder, type App, type TAbstractFile, type EventRef } from 'obsidian';
import type { FileInfo, VaultEvent, VaultFiles } from '../../core/port';

export class ObsidianVaultFiles implements VaultFiles {
  constructor(private readonly app: App) {}

  async list(): Promise<FileInfo[]> {
    return this.app.vault.getFiles().map(info);
  }

  async stat(path: string): Promise<FileInfo | undefined> {
    const file = this.file(path);
    return file ? info(file) : undefined;
  }

  async readText(path: string): Promise<string> {
    return this.app.vault.read(this.required(path));
  }

  async readBinary(path: string): Promise<Uint8Array> {
    return new Uint8Array(await this.app.vault.readBinary(this.required(path)));
  }

  async writeText(path: string, text: string): Promise<void> {
    const file = this.file(path);
    if (file) await this.app.vault.modify(file, text);
    else {
      await this.ensureParent(path);
      await this.app.vault.create(normalizePath(path), text);
    }
  }

  async writeBinary(path: string, bytes: Uint8Array): Promise<void> {
    // Obsidian wants an ArrayBuffer of exactly these bytes.
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const file = this.file(path);
    if (file) await this.app.vault.modifyBinary(file, buffer);
    else {
      await this.ensureParent(path);
      await this.app.vault.createBinary(normalizePath(path), buffer);
    }
  }

  async delete(path: string): Promise<void> {
    const file = this.file(path);
    // Through the user's trash setting, so a synced delete stays recoverable.
    if (file) await this.app.fileManager.trashFile(file);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.ensureParent(to);
    await this.app.vault.rename(this.required(from), normalizePath(to));
  }

  onEvent(listener: (event: VaultEvent) => void): () => void {
    const vault = this.app.vault;
    const isFile = (f: TAbstractFile): f is TFile => f instanceof TFile;
    // Folders matter for deletes and renames (issue 12.6): a folder delete may
    // be the only event for the notes inside it, and the engine moves a
    // folder's notes in one index change. An empty folder's create is nothing to sync.
    const isFolder = (f: TAbstractFile): f is TFolder => f instanceof TFolder;
    const refs: EventRef[] = [
      vault.on('create', (f) => isFile(f) && listener({ type: 'create', path: f.path })),
      vault.on('modify', (f) => isFile(f) && listener({ type: 'modify', path: f.path })),
      vault.on('delete', (f) => {
        if (isFile(f)) listener({ type: 'delete', path: f.path });
        else if (isFolder(f)) listener({ type: 'delete', path: f.path, folder: true });
      }),
      vault.on('rename', (f, oldPath) => (isFile(f) || isFolder(f)) && listener({ type: 'rename', path: f.path, oldPath })),
    ];
    return () => refs.forEach((ref) => vault.offref(ref));
  }

  private file(path: string): TFile | undefined {
    const f = this.app.vault.getAbstractFileByPath(normalizePath(path));
    return f instanceof TFile ? f : undefined;
  }

  private required(path: string): TFile {
    const f = this.file(path);
    if (!f) throw new Error(`no such file: ${path}`);
    return f;
  }

  private async ensureParent(path: string): Promise<void> {
    const slash = path.lastIndexOf('/');
    if (slash <= 0) return;
    const dir = normalizePath(path.slice(0, slash));
    if (!this.app.vault.getAbstractFileByPath(dir)) await this.app.vault.createFolder(dir);
  }
}

function info(file: TFile): FileInfo {
  return { path: file.path, mtime: file.stat.mtime, size: file.stat.size };
}
