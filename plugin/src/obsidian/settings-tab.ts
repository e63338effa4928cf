// The settings tab: connection, this device, selective sync, diagnostics.
// Each control writes through `host.update`, which saves and tells the engine.
import { App, Notice, PluginSettingTab, Setting, type Plugin } from 'obsidian';
import { maskToken, parseGlobList, type TesseraSettings } from '../core/ui/settings';
import type { EnginePort } from '../core/port';

export interface SettingsHost {
  settings(): TesseraSettings;
  update(patch: Partial<TesseraSettings>): Promise<void>;
  engine(): EnginePort;
  copyDiagnostics(): Promise<void>;
}

export class TesseraSettingTab extends PluginSettingTab {
  constructor(app: App, plugin: Plugin, private readonly host: SettingsHost) {
    super(app, plugin);
  }

  override display(): void {
    const { containerEl } = this;
    const s = this.host.settings();
    containerEl.empty();

    new Setting(containerEl).setName('Connection').setHeading();
    new Setting(containerEl)
      .setName('Server URL')
      .setDesc('Your Tessera relay, e.g. https://sync.example.org')
      .addText((t) => t.setPlaceholder('https://…').setValue(s.serverUrl).onChange((v) => this.host.update({ serverUrl: v.trim() })));
    new Setting(containerEl)
      .setName('Vault id')
      .setDesc('Lowercase letters, digits and dashes; the same on every device of this vault.')
      .addText((t) => t.setValue(s.vaultId).onChange((v) => this.host.update({ vaultId: v.trim() })));
    new Setting(containerEl)
      .setName('Token')
      .setDesc(s.token ? `Current: ${maskToken(s.token)}. Paste a new one to replace it.` : 'Paste the token minted for this device.')
      .addText((t) => {
        // Never echo the stored token into the field: it would show on screen shares.
        t.inputEl.type = 'password';
        t.inputEl.autocomplete = 'off';
        t.setPlaceholder(s.token ? 'unchanged' : 'v1.…').onChange((v) => {
          if (v.trim()) void this.host.update({ token: v.trim() });
        });
      });
    const connected = this.host.engine().status().state !== 'disconnected';
    new Setting(containerEl)
      .setName(connected ? 'Connected to sync' : 'Sync is off')
      .addButton((b) =>
        b
          .setButtonText(connected ? 'Disconnect' : 'Connect')
          .setCta()
          .onClick(async () => {
            await this.host.update({ connectOnStart: !connected });
            if (connected) await this.host.engine().disconnect();
            else await this.host.engine().connect();
            this.display();
          }),
      );

    new Setting(containerEl).setName('This device').setHeading();
    new Setting(containerEl)
      .setName('Device name')
      .setDesc('Shown next to your cursor on other devices.')
      .addText((t) => t.setValue(s.deviceName).onChange((v) => this.host.update({ deviceName: v.trim() })));
    new Setting(containerEl)
      .setName('Cursor colour')
      .addColorPicker((c) => c.setValue(s.cursorColor).onChange((v) => this.host.update({ cursorColor: v })));

    new Setting(containerEl).setName('Selective sync').setHeading();
    new Setting(containerEl)
      .setName('Ignore')
      .setDesc('Glob patterns, one per line, of files never synced (# starts a comment).')
      .addTextArea((t) => {
        t.inputEl.rows = 5;
        t.setValue(s.ignoreGlobs.join('\n')).onChange((v) => this.host.update({ ignoreGlobs: parseGlobList(v) }));
      });
    new Setting(containerEl)
      .setName('Sync attachments')
      .setDesc('Images, PDFs and other non-Markdown files.')
      .addToggle((t) => t.setValue(s.syncAttachments).onChange((v) => this.host.update({ syncAttachments: v })));
    new Setting(containerEl)
      .setName('Largest attachment (MB)')
      .addText((t) => {
        t.inputEl.type = 'number';
        t.setValue(String(s.maxAttachmentMB)).onChange((v) => {
          const n = Number(v);
          if (Number.isFinite(n) && n > 0) void this.host.update({ maxAttachmentMB: n });
        });
      });
    new Setting(containerEl)
      .setName('Largest attachment on phones and tablets (MB)')
      .setDesc('Obsidian mobile passes whole files through memory as text; Android apps have run out of memory at 35–80 MB.')
      .addText((t) => {
        t.inputEl.type = 'number';
        t.setValue(String(s.mobileMaxAttachmentMB)).onChange((v) => {
          const n = Number(v);
          if (Number.isFinite(n) && n > 0) void this.host.update({ mobileMaxAttachmentMB: n });
        });
      });

    new Setting(containerEl).setName('Diagnostics').setHeading();
    new Setting(containerEl)
      .setName('Log level')
      .addDropdown((d) =>
        d
          .addOptions({ error: 'Errors', warn: 'Warnings', info: 'Info', debug: 'Debug' })
          .setValue(s.logLevel)
          .onChange((v) => this.host.update({ logLevel: v as TesseraSettings['logLevel'] })),
      );
    new Setting(containerEl)
      .setName('Recent log and diagnostics')
      .setDesc('Copies a report for a bug report. The token is never included.')
      .addButton((b) =>
        b.setButtonText('Copy').onClick(async () => {
          await this.host.copyDiagnostics();
          new Notice('Tessera: diagnostics copied');
        }),
      );
  }
}
