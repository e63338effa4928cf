// The command palette entries. Each is one engine call plus its UI.
import { Notice, type Plugin } from 'obsidian';
import type { EnginePort } from '../core/port';
import { withProgress } from './progress';
import { HistoryModal } from './modals/history-modal';
import { confirmAction } from './modals/confirm-modal';

export interface CommandHost {
  engine(): EnginePort;
  showStatus(): Promise<void>;
  resolveConflicts(): void;
  decideHeldDeletes(): void;
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
      .then((versions) =>
        new HistoryModal(plugin.app, path, versions, async (v) => {
          const ok = await confirmAction(
            plugin.app,
            'Restore this version?',
            `${path} will be replaced by the version of ${new Date(v.time).toLocaleString()}, on every device.`,
            'Restore',
          );
          if (ok) await host.engine().restore(path, v.id);
          return ok;
        }).open(),
      )
      .catch(report('loading history'));
  };

  plugin.addCommand({ id: 'sync-now', name: 'Sync now', callback: () => void host.engine().syncNow().catch(report('sync')) });
  plugin.addCommand({ id: 'reconnect', name: 'Reconnect', callback: () => void host.engine().reconnect().catch(report('reconnect')) });
  plugin.addCommand({ id: 'show-status', name: 'Show sync status', callback: () => void host.showStatus() });
  plugin.addCommand({ id: 'resolve-conflicts', name: 'Resolve conflicts', callback: () => host.resolveConflicts() });
  plugin.addCommand({
    id: 'missing-files',
    name: 'Decide about missing files (held deletes)',
    checkCallback: (checking) => {
      if (host.engine().heldDeletes().length === 0) return false;
      if (!checking) host.decideHeldDeletes();
      return true;
    },
  });
  plugin.addCommand({
    id: 'upload-vault',
    name: 'Upload entire vault',
    callback: () =>
      void confirmAction(
        plugin.app,
        'Upload entire vault?',
        'Every file in this vault is compared with the relay again and its differences are sent to every device.',
        'Upload',
      ).then((ok) => {
        if (ok) void withProgress('uploading', (p) => host.engine().uploadVault(p));
      }),
  });
  plugin.addCommand({
    id: 'download-vault',
    name: 'Download entire vault',
    callback: () =>
      void confirmAction(
        plugin.app,
        'Download entire vault?',
        'Every synced file in this vault is rewritten with the relay\'s version.',
        'Download',
      ).then((ok) => {
        if (ok) void withProgress('downloading', (p) => host.engine().downloadVault(p));
      }),
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
