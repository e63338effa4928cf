// The settings tab: connection, this device, selective sync, diagnostics.
// Each control writes through `host.update`, which saves and tells the engine.
// Text fields apply when the field is committed (blur or Enter: the DOM
// `change` event), never per keystroke: a changed URL, vault or token
// restarts the engine in another store scope and re-imports the vault, so
// typing "https://…" slowly must not do that once a character (issue 12.7).
import { App, Notice, PluginSettingTab, Setting, type Plugin, type TextAreaComponent, type TextComponent } from 'obsidian';
import { maskToken, NOT_SET_UP, parseGlobList, type TesseraSettings } from '../core/ui/settings';
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
    this.offStatus?.();
    this.offStatus = this.host.engine().onStatus(() => this.showConnection());

    new Setting(containerEl).setName('Connection').setHeading();
    new Setting(containerEl)
      .setName('Server URL')
      .setDesc('Your Tessera relay, e.g. https://sync.example.org')
      .addText((t) => onCommit(t.setPlaceholder('https://…').setValue(s.serverUrl), (v) => this.commit({ serverUrl: v.trim() })));
    new Setting(containerEl)
      .setName('Vault id')
      .setDesc('Lowercase letters, digits and dashes; the same on every device of this vault.')
      .addText((t) => onCommit(t.setValue(s.vaultId), (v) => this.commit({ vaultId: v.trim() })));
    new Setting(containerEl)
      .setName('Token')
      .setDesc(s.token ? `Current: ${maskToken(s.token)}. Paste a new one to replace it.` : 'Paste the token minted for this device.')
      .addText((t) => {
        // Never echo the stored token into the field: it would show on screen shares.
        t.inputEl.type = 'password';
        t.inputEl.autocomplete = 'off';
        onCommit(t.setPlaceholder(s.token ? 'unchanged' : 'v1.…'), (v) => {
          if (v.trim()) void this.commit({ token: v.trim() });
        });
      });
    new Setting(containerEl)
      .setName('Allow unencrypted connection')
      .setDesc(
        'Lets an http:// server URL that is not this device connect. Anyone on the network path could read your token and notes: turn it on only for a network you control, and prefer https://.',
      )
      .addToggle((t) => t.setValue(s.allowUnencrypted).onChange((v) => this.commit({ allowUnencrypted: v })));
    this.connection = new Setting(containerEl);
    this.showConnection();

    new Setting(containerEl).setName('This device').setHeading();
    new Setting(containerEl)
      .setName('Device name')
      .setDesc('Shown next to your cursor on other devices.')
      .addText((t) => onCommit(t.setValue(s.deviceName), (v) => this.host.update({ deviceName: v.trim() })));
    new Setting(containerEl)
      .setName('Cursor colour')
      .addColorPicker((c) => c.setValue(s.cursorColor).onChange((v) => this.host.update({ cursorColor: v })));

    new Setting(containerEl).setName('Selective sync').setHeading();
    new Setting(containerEl)
      .setName('Ignore')
      .setDesc('Glob patterns, one per line, of files never synced (# starts a comment).')
      .addTextArea((t) => {
        t.inputEl.rows = 5;
        onCommit(t.setValue(s.ignoreGlobs.join('\n')), (v) => this.host.update({ ignoreGlobs: parseGlobList(v) }));
      });
    new Setting(containerEl)
      .setName('Sync attachments')
      .setDesc('Images, PDFs and other non-Markdown files.')
      .addToggle((t) => t.setValue(s.syncAttachments).onChange((v) => this.host.update({ syncAttachments: v })));
    new Setting(containerEl)
      .setName('Largest attachment (MB)')
      .addText((t) => {
        t.inputEl.type = 'number';
        onCommit(t.setValue(String(s.maxAttachmentMB)), (v) => {
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

  override hide(): void {
    this.offStatus?.();
    this.offStatus = undefined;
  }

  private connection: Setting | undefined;
  private offStatus: (() => void) | undefined;

  private async commit(patch: Partial<TesseraSettings>): Promise<void> {
    await this.host.update(patch);
    this.showConnection();
  }

  /**
   * The connect row, redrawn in place (a full redraw would steal the focus of
   * the field being tabbed into). Unconfigured, the engine is not running
   * even though it reports an error: it says so instead of "Connected".
   */
  private showConnection(): void {
    const row = this.connection;
    if (!row) return;
    const s = this.host.settings();
    const configured = Boolean(s.serverUrl && s.vaultId && s.token);
    const status = this.host.engine().status();
    // Not running: stopped, or asked to connect before it was set up.
    const connected = configured && status.state !== 'disconnected' && status.reason !== NOT_SET_UP;
    row.controlEl.empty();
    row
      .setName(!configured ? 'Not set up' : connected ? 'Connected to sync' : 'Sync is off')
      .setDesc(!configured ? 'Fill in the server URL, vault id and token, then connect.' : '')
      .addButton((b) =>
        b
          .setButtonText(connected ? 'Disconnect' : 'Connect')
          .setCta()
          .setDisabled(!configured)
          .onClick(async () => {
            await this.host.update({ connectOnStart: !connected });
            if (connected) await this.host.engine().disconnect();
            else await this.host.engine().connect();
            this.showConnection();
          }),
      );
  }
}

/** Calls `apply` when the field is committed (blur, Enter), with its value. */
function onCommit<T extends TextComponent | TextAreaComponent>(field: T, apply: (value: string) => unknown): T {
  field.inputEl.addEventListener('change', () => void apply(field.getValue()));
  return field;
}
