// Lists a note's stored versions (engine.history) and restores the chosen one
// as a new edit, so the restore itself syncs and can be undone like any edit.
import { App, Modal, Notice, Setting } from 'obsidian';
import type { NoteVersion } from '../../core/port';
import { formatSize } from './conflict-modal';

export class HistoryModal extends Modal {
  constructor(
    app: App,
    private readonly path: string,
    private readonly versions: NoteVersion[],
    /** Resolves false when the user declined (the restore asks for confirmation first). */
    private readonly restore: (version: NoteVersion) => Promise<boolean>,
  ) {
    super(app);
  }

  override onOpen(): void {
    this.titleEl.setText(`History of ${this.path}`);
    if (this.versions.length === 0) {
      this.contentEl.createEl('p', { text: 'No stored versions yet.' });
      return;
    }
    const newestFirst = [...this.versions].sort((a, b) => b.time - a.time);
    for (const version of newestFirst) {
      const detail = [version.size !== undefined ? formatSize(version.size) : '', version.preview ?? ''].filter(Boolean).join(' — ');
      new Setting(this.contentEl)
        .setName(new Date(version.time).toLocaleString())
        .setDesc(detail)
        .addButton((b) =>
          b.setButtonText('Restore').onClick(async () => {
            this.close();
            try {
              if (!(await this.restore(version))) return;
              new Notice(`Tessera: restored ${this.path} to ${new Date(version.time).toLocaleString()}`);
            } catch (e) {
              new Notice(`Tessera: restore failed: ${e instanceof Error ? e.message : String(e)}`);
            }
          }),
        );
    }
  }

  override onClose(): void {
    this.contentEl.empty();
  }
}
