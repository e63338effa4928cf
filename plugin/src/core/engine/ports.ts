// What the engine needs from its host. The Obsidian adapter implements these
// over the Vault API, IndexedDB, the host WebSocket and fetch; tests implement
// them in memory and with the npm `ws` package. Nothing here is Node-only,
// because the plugin also runs on mobile.

/** A file as the vault lists it. Paths are vault-relative with `/` separators. */
export interface FileInfo {
  path: string;
  /** Milliseconds since the Unix epoch. */
  mtime: number;
  size: number;
}

/** A change the user (or another app) made to the vault, not the engine. */
export type VaultEvent =
  | { type: 'create'; path: string }
  | { type: 'modify'; path: string }
  /** `folder`: a folder went, with whatever it held (hosts may report only the folder). */
  | { type: 'delete'; path: string; folder?: boolean }
  | { type: 'rename'; path: string; oldPath: string };

/** The vault folder on this device. */
export interface VaultFiles {
  list(): Promise<FileInfo[]>;
  /** undefined when the file does not exist. */
  stat(path: string): Promise<FileInfo | undefined>;
  readText(path: string): Promise<string>;
  readBinary(path: string): Promise<Uint8Array>;
  /** Creates parent folders as needed. */
  writeText(path: string, text: string): Promise<void>;
  writeBinary(path: string, bytes: Uint8Array): Promise<void>;
  delete(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Subscribes to external changes. Returns an unsubscribe. */
  onEvent(listener: (event: VaultEvent) => void): () => void;
}

/** An open WebSocket-like connection carrying binary frames. */
export interface Connection {
  send(frame: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export interface ConnectionHandlers {
  onOpen(): void;
  onMessage(frame: Uint8Array): void;
  /** Called once, whether the socket failed to open or closed later. */
  onClose(code: number, reason: string): void;
}

/**
 * Opens sockets to the relay's vault endpoint. `protocols` are the
 * WebSocket subprotocols to offer: the token travels there, in the upgrade
 * request's headers, never in the URL (a browser WebSocket cannot set
 * headers, and URLs end up in proxy and access logs).
 */
export interface Transport {
  open(url: string, handlers: ConnectionHandlers, protocols?: string[]): Connection;
}

/** Durable key → bytes storage for this device (IndexedDB, the plugin folder, memory). */
export interface LocalStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`, in no particular order. */
  keys(prefix: string): Promise<string[]>;
}

export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

/** The relay's blob endpoints (content-addressed by blake3 hex). */
export interface BlobClient {
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /** undefined when the relay does not have it (404). */
  get(hash: string): Promise<Uint8Array | undefined>;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
