// The one place the adapter meets the sync engine: `linkEngine` builds the
// EnginePort from the host's ports. The engine lives in src/core/engine/ on
// its own branch; merging connects it here, and nothing else in the adapter
// changes. Built without it, the plugin loads, shows "Error (sync engine not
// included in this build)" and leaves the vault alone — it never half-syncs.
import type { NoteSession } from '../core/contract';
import type { TesseraSettings } from '../core/ui/settings';
import type { EngineHost, EnginePort, LogLevel, SyncStatus } from './engine-port';

export function linkEngine(host: EngineHost): EnginePort {
  return new EngineNotIncluded(host);
}

class EngineNotIncluded implements EnginePort {
  private readonly reason = 'sync engine not included in this build';

  constructor(private readonly host: EngineHost) {
    host.log.error(this.reason);
  }

  status(): SyncStatus {
    return { state: 'error', pending: 0, conflicts: 0, reason: this.reason };
  }
  onStatus(): () => void {
    return () => {};
  }
  pendingFiles() {
    return [];
  }
  conflicts() {
    return [];
  }
  private refuse(): Promise<never> {
    return Promise.reject(new Error(this.reason));
  }
  connect(): Promise<void> {
    return this.refuse();
  }
  async disconnect(): Promise<void> {}
  syncNow(): Promise<void> {
    return this.refuse();
  }
  reconnect(): Promise<void> {
    return this.refuse();
  }
  uploadVault(): Promise<void> {
    return this.refuse();
  }
  downloadVault(): Promise<void> {
    return this.refuse();
  }
  history(): Promise<never> {
    return this.refuse();
  }
  restore(): Promise<void> {
    return this.refuse();
  }
  resolveConflict(): Promise<void> {
    return this.refuse();
  }
  async openNote(): Promise<NoteSession | undefined> {
    return undefined;
  }
  applySettings(_settings: TesseraSettings): void {}
  setLogLevel(_level: LogLevel): void {}
  recentLog(): string[] {
    return [];
  }
  diagnostics(): string {
    return `engine: ${this.reason}`;
  }
  async stop(): Promise<void> {}
}
