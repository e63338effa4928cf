// Asks before an operation that rewrites many files or a note's text
// (Upload/Download entire vault, Restore): a misclick must not do it.
import { Modal, Setting, type App } from 'obsidian';

/** Resolves true only when the user presses the confirming button. */
export function confirmAction(app: App, title: string, body: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const modal = new (class extends Modal {
      override onOpen(): void {
        this.titleEl.setText(title);
        this.contentEl.createEl('p', { text: body });
        new Setting(this.contentEl)
          .addButton((b) => b.setButtonText('Cancel').onClick(() => this.close()))
          .addButton((b) =>
            b
              .setButtonText(action)
              .setWarning()
              .onClick(() => {
                answered = true;
                this.close();
              }),
          );
      }
      override onClose(): void {
        this.contentEl.empty();
        resolve(answered);
      }
    })(app);
    modal.open();
  });
}
