// What the Obsidian adapter needs from the sync engine (src/core/engine/),
// stated here so the adapter compiles and is reviewable on its own. The
// engine implements `EnginePort`; `engine-link.ts` is the one place that
// constructs it. Host-side types mirror the engine's ports.ts by shape
// (TypeScript is structural), so the engine's own types satisfy them.
import type { NoteSession } from '../core/contract';
import type { TesseraSettings } from '../core/ui/settings';

/** The connection state the status bar shows. */
export type SyncState = 'connected' | 'syncing' | 'offline' | 'read-only' | 'error' | 'disconnected';

export interface SyncStatus {
  state: SyncState;
  /** Local changes not yet acknowledged as durable by the relay. */
  pending: number;
  /** Files waiting for the user (binary conflicts). */
  conflicts: number;
  /** For `error` (and `read-only`): why, for a human. */
  reason?: string;
}

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

  history(path: string): Promise<NoteVersion[]>;
  /** Brings a version back as a new edit (synced like any other edit). */
  restore(path: string, versionId: string): Promise<void>;
  resolveConflict(path: string, keep: 'local' | 'cloud'): Promise<void>;

  /**
   * A session for a note opened in an editor; undefined when the path is not
   * synced. While a session is open the engine never writes that file.
   */
  openNote(path: string): Promise<NoteSession | undefined>;

  /** New settings (from the settings tab); the engine reconnects if needed. */
  applySettings(settings: TesseraSettings): void;
  setLogLevel(level: LogLevel): void;
  /** Recent log lines, oldest first. */
  recentLog(): string[];
  /** A plain-text report for bug reports: versions, status, counts — never the token. */
  diagnostics(): string;

  /** The plugin unloads: close sockets, flush the local store. */
  stop(): Promise<void>;
}

// ---- Host ports: mirror src/core/engine/ports.ts by shape ----

export interface FileInfo {
  path: string;
  mtime: number;
  size: number;
}

export type VaultEvent =
  | { type: 'create'; path: string }
  | { type: 'modify'; path: string }
  | { type: 'delete'; path: string }
  | { type: 'rename'; path: string; oldPath: string };

export interface VaultFiles {
  list(): Promise<FileInfo[]>;
  stat(path: string): Promise<FileInfo | undefined>;
  readText(path: string): Promise<string>;
  readBinary(path: string): Promise<Uint8Array>;
  writeText(path: string, text: string): Promise<void>;
  writeBinary(path: string, bytes: Uint8Array): Promise<void>;
  delete(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  onEvent(listener: (event: VaultEvent) => void): () => void;
}

export interface Connection {
  send(frame: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface ConnectionHandlers {
  onOpen(): void;
  onMessage(frame: Uint8Array): void;
  onClose(code: number, reason: string): void;
}

export interface Transport {
  open(url: string, handlers: ConnectionHandlers): Connection;
}

export interface LocalStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

export interface BlobClient {
  put(hash: string, bytes: Uint8Array): Promise<void>;
  get(hash: string): Promise<Uint8Array | undefined>;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Everything the adapter hands the engine at start. */
export interface EngineHost {
  vault: VaultFiles;
  transport: Transport;
  store: LocalStore;
  clock: Clock;
  /** Built per server URL and token: the settings can change while running. */
  blobs: (serverUrl: string, token: string) => BlobClient;
  log: Logger;
  settings: TesseraSettings;
  /** The core's WASM bytes (inlined into main.js by esbuild). */
  wasm: Uint8Array;
}
