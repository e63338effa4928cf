// What a host (the Obsidian adapter) drives: `EnginePort`, implemented once by
// SyncService (service.ts) over the sync engine, and `EngineHost`, the ports a
// host hands it. No `obsidian` import: tests drive the same service in Node.
import type { NoteSession } from './contract';
import type { BlobClient, Clock, LocalStore, Logger, Transport, VaultFiles } from './engine/ports';
import type { TesseraSettings } from './ui/settings';

export type * from './engine/ports';

export type { SyncState, SyncStatus } from './engine/status';
import type { SyncStatus } from './engine/status';

export interface PendingFile {
  path: string;
  /** e.g. "3 edits", "upload 2.1 MB", "waiting for connection". */
  detail?: string;
}

/** Two versions of an attachment: this device's and the one that won in the index. */
export interface BinaryConflict {
  path: string;
  local: { hash: string; size: number; mtime?: number };
  cloud: { hash: string; size: number; mtime?: number; device?: string };
}

/** A stored version of a note (the relay keeps the last N snapshots). */
export interface NoteVersion {
  id: string;
  /** Milliseconds since the Unix epoch. */
  time: number;
  size?: number;
  /** The first line or a short excerpt, to recognise the version. */
  preview?: string;
}

export interface Progress {
  done: number;
  total: number;
  path?: string;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The sync engine, as the adapter drives it. */
export interface EnginePort {
  status(): SyncStatus;
  /** Returns an unsubscribe. Called on every status change (pending count included). */
  onStatus(listener: (status: SyncStatus) => void): () => void;
  pendingFiles(): PendingFile[];
  conflicts(): BinaryConflict[];

  /** Connects with the current settings; resolves once connected or failed (status says which). */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Flushes pending changes and asks for changes since the last cursor. */
  syncNow(): Promise<void>;
  /** Drops the connection and connects again (new token, new server, stuck socket). */
  reconnect(): Promise<void>;
  /** Sends every local file (first sync of an existing vault); never duplicates text. */
  uploadVault(onProgress: (p: Progress) => void): Promise<void>;
  /** Fetches every file of the vault from the relay. */
  downloadVault(onProgress: (p: Progress) => void): Promise<void>;

  /** Files a start-up scan found missing, their deletes held (too many to be ordinary). */
  heldDeletes(): string[];
  /** `delete`: sync the deletes of files still missing; `restore`: write them back. */
  resolveHeldDeletes(choice: 'delete' | 'restore'): Promise<void>;

  history(path: string): Promise<NoteVersion[]>;
  /** Brings a version back as a new edit (synced like any other edit). */
  restore(path: string, versionId: string): Promise<void>;
  resolveConflict(path: string, keep: 'local' | 'cloud'): Promise<void>;

  /**
   * A session for a note opened in an editor; undefined when the path is not
   * synced. While a session is open the engine never writes that file.
   */
  /** `editorText`: what the opening editor shows (its typing is kept, see attach.ts). */
  openNote(path: string, editorText?: string): Promise<NoteSession | undefined>;

  /** New settings (from the settings tab); the engine reconnects if needed. */
  applySettings(settings: TesseraSettings): void;
  setLogLevel(level: LogLevel): void;
  /** Recent log lines, oldest first. */
  recentLog(): string[];
  /** A plain-text report for bug reports: versions, status, counts — never the token. */
  diagnostics(): string;

  /** The plugin unloads: close sockets, flush the local store. */
  stop(): Promise<void>;
  /** The app is visible again or the network came back: reconnect at once / check the socket. */
  wake(): void;
  /** The app goes to the background: write everything known to the local store now. */
  flush(): Promise<void>;
}

/** Everything the host hands the engine at start. */
export interface EngineHost {
  vault: VaultFiles;
  transport: Transport;
  store: LocalStore;
  clock: Clock;
  /** HTTP to the relay (history, restore, attachments): Obsidian's requestUrl on a fetch signature. */
  fetch: typeof fetch;
  /** Overrides the attachment client built from `fetch` (tests). */
  blobs?: (serverUrl: string, vaultId: string, token: string) => BlobClient;
  log: Logger;
  settings: TesseraSettings;
  /** A phone or tablet: the mobile attachment cap applies (see settings.ts). */
  mobile?: boolean;
  /** The core's WASM bytes (inlined into main.js by esbuild). */
  wasm: Uint8Array;
  /** The vault's config folder (`app.vault.configDir`); `.obsidian` when absent.
   * Nothing in it is ever written, renamed, trashed or uploaded by sync. */
  configDir?: string;
}
