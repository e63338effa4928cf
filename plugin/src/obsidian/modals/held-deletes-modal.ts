// A start-up scan found many synced files missing (iCloud eviction, a slow
// mount): their deletes wait here instead of deleting the notes everywhere.
import { Modal, Setting, type App } from 'obsidian';

/** Resolves with the user's choice, or undefined when closed (asked again next start). */
export function askHeldDeletes(app: App, paths: string[]): Promise<'delete' | 'restore' | undefined> {
  return new Promise((resolve) => {
    let answer: 'delete' | 'restore' | undefined;
    const modal = new (class extends Modal {
      override onOpen(): void {
        this.titleEl.setText(`Tessera: ${paths.length} synced files are missing`);
        this.contentEl.createEl('p', {
          text:
            'These files were synced before but are not on this device now. If the vault folder is still loading ' +
            '(iCloud, an SD card, a network drive), restore them; delete them everywhere only if you deleted them yourself.',
        });
        const list = this.contentEl.createEl('ul', { cls: 'tessera-file-list' });
        for (const p of paths.slice(0, 20)) list.createEl('li', { text: p });
        if (paths.length > 20) list.createEl('li', { text: `… and ${paths.length - 20} more`, cls: 'tessera-muted' });
        new Setting(this.contentEl)
          .addButton((b) => b.setButtonText('Restore them here').setCta().onClick(() => this.answer('restore')))
          .addButton((b) => b.setButtonText('Delete them everywhere').setWarning().onClick(() => this.answer('delete')));
      }
      answer(choice: 'delete' | 'restore'): void {
        answer = choice;
        this.close();
      }
      override onClose(): void {
        this.contentEl.empty();
        resolve(answer);
      }
    })(app);
    modal.open();
  });
}
