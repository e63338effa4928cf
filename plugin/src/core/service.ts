// SyncService: the EnginePort a host drives, over one SyncEngine at a time.
// It owns what the settings decide — which relay and vault, the token,
// selective sync, the device's name and colour — and rebuilds the engine
// when those change. Host-neutral, so the Node tests drive exactly what
// Obsidian runs; src/obsidian only supplies the ports.
import type { NoteSession } from './contract';
import { blake3Hex, initCoreAsync } from './engine/core';
import { SyncEngine } from './engine/engine';
import { DEFAULT_CONFIG_DIR, SyncFilter } from './engine/filter';
import type { LocalStore, Logger } from './engine/ports';
import type { SyncStatus } from './engine/status';
import type {
  BinaryConflict,
  EngineHost,
  EnginePort,
  LogLevel,
  NoteVersion,
  PendingFile,
  Progress,
} from './port';
import { LogBuffer } from './ui/log-buffer';
import { attachmentCapMB, NOT_SET_UP, unencryptedRefusal, vaultSocketUrl, type TesseraSettings } from './ui/settings';

const DISCONNECTED: SyncStatus = { state: 'disconnected', pending: 0, conflicts: 0 };

export class SyncService implements EnginePort {
  private engine: SyncEngine | undefined;
  private settings: TesseraSettings;
  private current: SyncStatus = DISCONNECTED;
  private offStatus: (() => void) | undefined;
  private readonly listeners = new Set<(s: SyncStatus) => void>();
  private readonly log = new LogBuffer();
  private readonly logger: Logger;
  /** Serialises connect/disconnect/settings changes: one engine at a time. */
  private lifecycle: Promise<void> = Promise.resolve();
  /** Connect was asked for while the settings were incomplete: start once they are. */
  private awaitingConfig = false;

  /** The core's WASM, compiled asynchronously: the host's UI loads meanwhile. */
  private readonly core: Promise<void>;

  constructor(private readonly host: EngineHost) {
    this.core = initCoreAsync(host.wasm);
    this.core.catch(() => {});
    this.settings = host.settings;
    this.log.setLevel(host.settings.logLevel);
    const line = (level: 'info' | 'warn' | 'error') => (m: string) => {
      this.log.write(level, m);
      host.log[level](m);
    };
    this.logger = { info: line('info'), warn: line('warn'), error: line('error') };
  }

  /** The running engine (tests look inside it; hosts use the port). */
  get running(): SyncEngine | undefined {
    return this.engine;
  }

  // ---- status ------------------------------------------------------------

  status(): SyncStatus {
    return this.current;
  }

  onStatus(listener: (status: SyncStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pendingFiles(): PendingFile[] {
    const out: PendingFile[] = [];
    for (const f of this.engine?.files() ?? []) {
      if (f.state === 'pending') out.push({ path: f.path, detail: this.engine?.connected ? 'sending' : 'waiting for connection' });
      if (f.state === 'refused') out.push({ path: f.path, detail: `not saved: ${f.detail ?? 'refused by the relay'}` });
    }
    for (const [path, why] of this.engine?.disk.skippedFiles() ?? []) out.push({ path, detail: `not synced here: ${why}` });
    return out;
  }

  conflicts(): BinaryConflict[] {
    return (this.engine?.conflicts() ?? []).map((c) => ({
      path: c.path,
      local: { hash: c.localHash, size: c.localSize ?? 0, ...(c.localMtime !== undefined ? { mtime: c.localMtime } : {}) },
      cloud: { hash: c.cloudHash, size: c.cloudSize ?? 0, ...(c.cloudMtime !== undefined ? { mtime: c.cloudMtime } : {}) },
    }));
  }

  // ---- connection ----------------------------------------------------------

  connect(): Promise<void> {
    return this.serially(async () => {
      if (this.engine) return;
      await this.startEngine();
    });
  }

  disconnect(): Promise<void> {
    return this.serially(() => this.stopEngine());
  }

  reconnect(): Promise<void> {
    return this.serially(async () => {
      if (this.engine) this.engine.reconnect();
      else await this.startEngine();
    });
  }

  async syncNow(): Promise<void> {
    await this.lifecycle;
    await this.need().syncNow();
  }

  applySettings(next: TesseraSettings): void {
    const before = this.settings;
    this.settings = next;
    this.log.setLevel(next.logLevel);
    const rebuild =
      before.serverUrl !== next.serverUrl ||
      before.vaultId !== next.vaultId ||
      before.token !== next.token ||
      before.allowUnencrypted !== next.allowUnencrypted ||
      before.syncAttachments !== next.syncAttachments ||
      attachmentCapMB(before, !!this.host.mobile) !== attachmentCapMB(next, !!this.host.mobile) ||
      before.ignoreGlobs.join('\n') !== next.ignoreGlobs.join('\n');
    // Name and colour are read live by presence; the rest needs a new engine.
    if (rebuild && this.engine) {
      void this.serially(async () => {
        await this.stopEngine();
        await this.startEngine();
      }).catch((e: unknown) => this.logger.error(`restart after a settings change: ${String(e)}`));
    } else if (rebuild && this.awaitingConfig && vaultSocketUrl(next) && !unencryptedRefusal(next)) {
      // First run: connect was asked for before the settings were complete.
      void this.serially(async () => {
        if (!this.engine && this.awaitingConfig) await this.startEngine();
      }).catch((e: unknown) => this.logger.error(`start after setup: ${String(e)}`));
    }
  }

  async stop(): Promise<void> {
    await this.serially(() => this.stopEngine());
  }

  wake(): void {
    this.engine?.wake();
  }

  async flush(): Promise<void> {
    await this.engine?.flush();
  }

  // ---- whole vault, history, conflicts --------------------------------------

  heldDeletes(): string[] {
    return this.engine?.heldDeletes() ?? [];
  }

  async resolveHeldDeletes(choice: 'delete' | 'restore'): Promise<void> {
    await this.need().resolveHeldDeletes(choice);
  }

  async uploadVault(onProgress: (p: Progress) => void): Promise<void> {
    await this.need().uploadEntireVault((done, total) => onProgress({ done, total }));
  }

  async downloadVault(onProgress: (p: Progress) => void): Promise<void> {
    await this.need().downloadEntireVault((done, total) => onProgress({ done, total }));
  }

  async history(path: string): Promise<NoteVersion[]> {
    const h = await this.need().history(path);
    // Newest first: the version a user looks for is usually a recent one.
    return h.snapshots
      .map((s) => ({ id: s.snapshot, time: s.created_ms, size: s.size }))
      .sort((a, b) => b.time - a.time);
  }

  async restore(path: string, versionId: string): Promise<void> {
    const engine = this.need();
    await engine.restore(path, versionId);
    // The relay made the restore an edit; fetch it now rather than on the next poll.
    if (engine.connected) await engine.syncNow();
  }

  async resolveConflict(path: string, keep: 'local' | 'cloud'): Promise<void> {
    const engine = this.need();
    const c = engine.conflicts().find((x) => x.path === path);
    if (!c) throw new Error(`no conflict at ${path}`);
    await engine.resolveConflict(c.id, keep);
  }

  async openNote(path: string, editorText?: string): Promise<NoteSession | undefined> {
    const engine = this.engine;
    if (!engine) return undefined;
    try {
      return await engine.openNote(path, editorText);
    } catch (e) {
      this.logger.warn(`cannot open ${path} for live editing: ${String(e)}`);
      return undefined;
    }
  }

  // ---- diagnostics -----------------------------------------------------------

  setLogLevel(level: LogLevel): void {
    this.log.setLevel(level);
  }

  recentLog(): string[] {
    return this.log.recent();
  }

  diagnostics(): string {
    const s = this.settings;
    return [
      `server: ${s.serverUrl || '-'} vault: ${s.vaultId || '-'} device: ${s.deviceName}`,
      `token: ${s.token ? 'set' : 'missing'}; ignore: ${s.ignoreGlobs.join(', ') || '-'}; attachments: ${s.syncAttachments ? `up to ${attachmentCapMB(s, !!this.host.mobile)} MB${this.host.mobile ? ' (mobile cap)' : ''}` : 'off'}`,
      this.engine ? this.engine.diagnostics() : `engine: not running (${this.current.state})`,
    ].join('\n');
  }

  // ---- engine life cycle ---------------------------------------------------------

  private async startEngine(): Promise<void> {
    await this.core;
    const s = this.settings;
    const refusal = vaultSocketUrl(s) ? unencryptedRefusal(s) : NOT_SET_UP;
    this.awaitingConfig = refusal !== undefined;
    if (refusal) {
      this.publish({ state: 'error', pending: 0, conflicts: 0, reason: refusal });
      return;
    }
    const engine = new SyncEngine({
      vault: this.host.vault,
      store: scopedStore(this.host.store, `${blake3Hex(new TextEncoder().encode(`${s.serverUrl}\n${s.vaultId}`)).slice(0, 16)}/`),
      transport: this.host.transport,
      clock: this.host.clock,
      relayUrl: s.serverUrl,
      vaultId: s.vaultId,
      token: s.token,
      fetch: this.host.fetch,
      identity: () => ({ name: this.settings.deviceName, color: this.settings.cursorColor }),
      logger: this.logger,
      filter: new SyncFilter({
        configDir: this.host.configDir ?? DEFAULT_CONFIG_DIR,
        ignoreGlobs: s.ignoreGlobs,
        syncAttachments: s.syncAttachments,
        maxAttachmentBytes: attachmentCapMB(s, !!this.host.mobile) * 1024 * 1024,
      }),
      ...(this.host.blobs ? { blobs: this.host.blobs(s.serverUrl, s.vaultId, s.token) } : {}),
    });
    this.engine = engine;
    this.offStatus = engine.onStatus((st) => this.publish(st));
    await engine.start();
    this.publish(engine.getStatus());
  }

  private async stopEngine(): Promise<void> {
    this.awaitingConfig = false;
    const engine = this.engine;
    if (!engine) return;
    this.engine = undefined;
    this.offStatus?.();
    await engine.stop();
    this.publish(DISCONNECTED);
  }

  private need(): SyncEngine {
    if (!this.engine) throw new Error('not connected: connect in the Tessera settings first');
    return this.engine;
  }

  private publish(status: SyncStatus): void {
    this.current = status;
    for (const l of this.listeners) l(status);
  }

  private serially(job: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(job);
    this.lifecycle = run.catch(() => {});
    return run;
  }
}

/**
 * Keys of one relay and vault under their own prefix: switching the settings
 * to another vault must never feed it this vault's documents or updates.
 */
export function scopedStore(store: LocalStore, prefix: string): LocalStore {
  return {
    get: (key) => store.get(prefix + key),
    put: (key, value) => store.put(prefix + key, value),
    delete: (key) => store.delete(prefix + key),
    keys: async (p) => (await store.keys(prefix + p)).map((k) => k.slice(prefix.length)),
  };
}
