// The command palette entries. Each is one engine call plus its UI.
import { Notice, type Plugin } from 'obsidian';
import type { EnginePort } from '../core/port';
import { withProgress } from './progress';
import { HistoryModal } from './modals/history-modal';

export interface CommandHost {
  engine(): EnginePort;
  showStatus(): Promise<void>;
  resolveConflicts(): void;
  copyDiagnostics(): Promise<void>;
}

export function registerCommands(plugin: Plugin, host: CommandHost): void {
  const report = (what: string) => (e: unknown) =>
    new Notice(`Tessera: ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
  const activeNote = (): string | undefined => {
    const file = plugin.app.workspace.getActiveFile();
    return file && file.extension === 'md' ? file.path : undefined;
  };
  const openHistory = (path: string): void => {
    host
      .engine()
      .history(path)
      .then((versions) => new HistoryModal(plugin.app, path, versions, (v) => host.engine().restore(path, v.id)).open())
      .catch(report('loading history'));
  };

  plugin.addCommand({ id: 'sync-now', name: 'Sync now', callback: () => void host.engine().syncNow().catch(report('sync')) });
  plugin.addCommand({ id: 'reconnect', name: 'Reconnect', callback: () => void host.engine().reconnect().catch(report('reconnect')) });
  plugin.addCommand({ id: 'show-status', name: 'Show sync status', callback: () => void host.showStatus() });
  plugin.addCommand({ id: 'resolve-conflicts', name: 'Resolve conflicts', callback: () => host.resolveConflicts() });
  plugin.addCommand({
    id: 'upload-vault',
    name: 'Upload entire vault',
    callback: () => void withProgress('uploading', (p) => host.engine().uploadVault(p)),
  });
  plugin.addCommand({
    id: 'download-vault',
    name: 'Download entire vault',
    callback: () => void withProgress('downloading', (p) => host.engine().downloadVault(p)),
  });
  // Both open the same list: the history is where a version is restored from.
  for (const [id, name] of [
    ['show-history', 'Show note history'],
    ['restore-version', 'Restore a previous version'],
  ] as const) {
    plugin.addCommand({
      id,
      name,
      checkCallback: (checking) => {
        const path = activeNote();
        if (!path) return false;
        if (!checking) openHistory(path);
        return true;
      },
    });
  }
  plugin.addCommand({ id: 'copy-diagnostics', name: 'Copy diagnostics', callback: () => void host.copyDiagnostics() });
}
