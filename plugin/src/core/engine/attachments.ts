// Attachments (non-note files): uploaded to the relay's blob store by blake3,
// recorded in the index with hash/size/mtime, downloaded where the index
// names them, and — when this device and another changed one since they last
// agreed — held as a conflict until the user picks Keep local or Use cloud.
// Runs inside the DiskMirror's job queue.
import { blake3Hex, type Entry } from './core';
import type { SyncEngine } from './engine';
import { INDEX } from './docs';
import type { SyncFilter } from './filter';
import type { BlobClient, Logger, VaultFiles } from './ports';

export interface BinaryConflict {
  /** The index entry's id (also the conflict's id). */
  id: string;
  path: string;
  localHash: string;
  cloudHash: string;
  /** Bytes, when known (for the Keep local / Use cloud choice). */
  localSize?: number;
  cloudSize?: number;
  /** Modification times (ms since the epoch): this device's file, and the index entry's. */
  localMtime?: number;
  cloudMtime?: number;
}

/** What the attachments borrow from the DiskMirror. */
export interface AttachmentHost {
  /** Runs a job in the mirror's queue (one job at a time, in order). */
  run(job: () => Promise<void>): void;
  /** The index's content is known on this connection. */
  indexReady(): boolean;
}

export class Attachments {
  /** Paths changed on disk, waiting to be uploaded. */
  private readonly dirty = new Set<string>();
  /** Conflicts waiting for the user, by index entry id. */
  private readonly pending = new Map<string, BinaryConflict>();
  /** Attachments selective sync leaves out here, with why (shown in the status view). */
  private readonly skipped = new Map<string, string>();

  constructor(
    private readonly engine: SyncEngine,
    private readonly vault: VaultFiles,
    private readonly blobs: BlobClient,
    private readonly log: Logger,
    private readonly filter: SyncFilter,
    private readonly host: AttachmentHost,
  ) {}

  private get index() {
    return this.engine.docs.index;
  }
  private get meta() {
    return this.engine.meta.data;
  }

  conflicts(): BinaryConflict[] {
    return [...this.pending.values()];
  }

  addConflict(c: BinaryConflict): void {
    this.pending.set(c.id, c);
  }

  skippedFiles(): Map<string, string> {
    return new Map(this.skipped);
  }

  /** Takes a changed attachment of `size` bytes at `path` (selective sync permitting). */
  async importBlob(path: string, size: number): Promise<void> {
    const skip = this.filter.attachmentSkipReason(path, size);
    if (skip) {
      this.skipped.set(path, skip);
      return;
    }
    this.skipped.delete(path);
    const bytes = await this.vault.readBinary(path);
    const h = blake3Hex(bytes);
    if (this.meta.disk[path] === h) return;
    const entry = this.index.lookup(path);
    if (entry && entry.hash === h) {
      this.meta.disk[path] = h;
      this.meta.placed[entry.id] = path;
      return;
    }
    this.dirty.add(path);
    await this.flush();
  }

  /** Uploads changed attachments, then records them in the index; needs the index synced. */
  async flush(): Promise<void> {
    if (!this.host.indexReady() || !this.engine.connected) return;
    for (const path of [...this.dirty]) {
      const stat = await this.vault.stat(path);
      if (!stat) {
        this.dirty.delete(path);
        continue;
      }
      if (!this.filter.attachmentSynced(path, stat.size)) {
        this.dirty.delete(path);
        continue;
      }
      const bytes = await this.vault.readBinary(path);
      const h = blake3Hex(bytes);
      const entry = this.index.lookup(path);
      const base = this.meta.disk[path];
      if (entry?.hash === h) {
        this.meta.disk[path] = h;
        this.dirty.delete(path);
        continue;
      }
      if (entry?.hash && base !== undefined && entry.hash !== base) {
        // Both this device and another changed it since we last agreed.
        this.pending.set(entry.id, {
          id: entry.id,
          path,
          localHash: h,
          cloudHash: entry.hash,
          localSize: bytes.length,
          ...(entry.size !== undefined ? { cloudSize: entry.size } : {}),
        });
        this.dirty.delete(path);
        continue;
      }
      try {
        await this.blobs.put(h, bytes);
      } catch (e) {
        this.log.warn(`upload of ${path} failed, will retry: ${String(e)}`);
        return;
      }
      this.commit(path, h, bytes.length, stat.mtime);
      this.dirty.delete(path);
    }
  }

  private commit(path: string, hash: string, size: number, mtime: number): void {
    const meta = { hash, size, mtime };
    const entry = this.index.lookup(path);
    if (entry) {
      this.engine.localUpdate(INDEX, this.index.setMeta(entry.id, meta));
      this.meta.placed[entry.id] = path;
    } else {
      const created = this.index.create(path, 'blob', meta);
      this.meta.created.push(created.id);
      this.meta.placed[created.id] = path;
      this.engine.localUpdate(INDEX, created.update);
    }
    this.meta.disk[path] = hash;
    void this.engine.meta.save();
  }

  /** Makes the disk hold the attachment the index names (or records a conflict). */
  async place(e: Entry): Promise<void> {
    if (!e.hash || this.pending.has(e.id)) return;
    const skip = this.filter.attachmentSkipReason(e.path, e.size);
    if (skip) {
      this.skipped.set(e.path, skip);
      return;
    }
    this.meta.placed[e.id] = e.path;
    if (this.meta.disk[e.path] === e.hash) return;
    const stat = await this.vault.stat(e.path);
    if (stat) {
      const bytes = await this.vault.readBinary(e.path);
      const local = blake3Hex(bytes);
      if (local === e.hash) {
        this.meta.disk[e.path] = local;
        return;
      }
      if (this.meta.disk[e.path] !== local) {
        // Changed here and in the cloud since we last agreed.
        this.pending.set(e.id, {
          id: e.id,
          path: e.path,
          localHash: local,
          cloudHash: e.hash,
          localSize: bytes.length,
          localMtime: stat.mtime,
          ...(e.size !== undefined ? { cloudSize: e.size } : {}),
          ...(e.mtime !== undefined ? { cloudMtime: e.mtime } : {}),
        });
        this.dirty.delete(e.path);
        return;
      }
    }
    await this.download(e.path, e.hash);
  }

  private async download(path: string, hash: string): Promise<void> {
    if (!this.engine.connected) return;
    const bytes = await this.blobs.get(hash);
    if (!bytes) {
      this.log.warn(`attachment ${path} (${hash.slice(0, 12)}…) is not on the relay yet`);
      return;
    }
    this.meta.disk[path] = hash;
    await this.vault.writeBinary(path, bytes);
  }

  async resolveConflict(id: string, choice: 'local' | 'cloud'): Promise<void> {
    const c = this.pending.get(id);
    if (!c) return;
    await new Promise<void>((resolve) =>
      this.host.run(async () => {
        try {
          this.pending.delete(id);
          if (choice === 'cloud') {
            this.meta.disk[c.path] = '';
            await this.download(c.path, c.cloudHash);
          } else {
            const bytes = await this.vault.readBinary(c.path);
            const h = blake3Hex(bytes);
            await this.blobs.put(h, bytes);
            this.engine.localUpdate(INDEX, this.index.setMeta(id, { hash: h, size: bytes.length }));
            this.meta.disk[c.path] = h;
          }
          await this.engine.meta.save();
        } finally {
          resolve();
        }
      }),
    );
  }
}
