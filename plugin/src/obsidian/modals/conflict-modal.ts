// Keep local / Use cloud for an attachment edited on two devices at once.
// Both versions stay stored on the relay whichever is chosen.
import { App, Modal, Setting } from 'obsidian';
import type { BinaryConflict } from '../../core/port';

export class ConflictModal extends Modal {
  constructor(
    app: App,
    private readonly conflict: BinaryConflict,
    private readonly choose: (keep: 'local' | 'cloud') => Promise<void>,
    private readonly deviceName = 'this device',
  ) {
    super(app);
  }

  override onOpen(): void {
    const { contentEl, conflict } = this;
    this.titleEl.setText('Attachment changed on two devices');
    contentEl.createEl('p', { text: conflict.path });
    const describe = (v: { size: number; mtime?: number }): string =>
      `${formatSize(v.size)}${v.mtime ? `, modified ${new Date(v.mtime).toLocaleString()}` : ''}`;
    contentEl.createEl('p', { text: `This device (${this.deviceName}): ${describe(conflict.local)}` });
    contentEl.createEl('p', {
      text: `Relay${conflict.cloud.device ? ` (from ${conflict.cloud.device})` : ' (from another device)'}: ${describe(conflict.cloud)}`,
    });
    contentEl.createEl('p', { text: 'The other version stays stored on the relay either way.', cls: 'tessera-muted' });
    new Setting(contentEl)
      .addButton((b) => b.setButtonText('Keep local').onClick(() => this.pick('local')))
      .addButton((b) => b.setButtonText('Use cloud').setCta().onClick(() => this.pick('cloud')));
  }

  override onClose(): void {
    this.contentEl.empty();
  }

  private async pick(keep: 'local' | 'cloud'): Promise<void> {
    this.close();
    await this.choose(keep);
  }
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
