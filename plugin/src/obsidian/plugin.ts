// The Plugin class: builds the host ports, starts the engine, and mounts the
// UI pieces. Everything with decisions in it lives in src/core.
import { Notice, Platform, Plugin, type WorkspaceLeaf } from 'obsidian';
import wasmBytes from '../../../crdt/pkg/tessera_crdt_bg.wasm';
import { LogBuffer } from '../core/ui/log-buffer';
import { normalizeSettings, type TesseraSettings } from '../core/ui/settings';
import { registerCommands } from './commands';
import { registerBinding, retryOpenEditors } from './editor';
import { linkEngine } from './engine-link';
import type { EngineHost, EnginePort } from '../core/port';
import { requestUrlFetch } from './host/fetch';
import { PluginFolderStore } from './host/store';
import { browserSocketTransport } from './host/transport';
import { ObsidianVaultFiles } from './host/vault';
import { ConflictModal } from './modals/conflict-modal';
import { TesseraSettingTab } from './settings-tab';
import { mountStatusBar } from './status-bar';
import { STATUS_VIEW, StatusView } from './status-view';

// esbuild's binary loader makes the import the module's bytes; TypeScript sees
// wasm-bindgen's .d.ts for that file (its exports) instead.
const wasm = wasmBytes as unknown as Uint8Array;

export default class TesseraSyncPlugin extends Plugin {
  private current!: TesseraSettings;
  private port!: EnginePort;
  private readonly log = new LogBuffer();

  override async onload(): Promise<void> {
    this.current = normalizeSettings(await this.loadData(), defaultDeviceName());
    this.log.setLevel(this.current.logLevel);
    const write = (level: 'info' | 'warn' | 'error') => (m: string) => this.log.write(level, m);
    const host: EngineHost = {
      vault: new ObsidianVaultFiles(this.app),
      transport: browserSocketTransport,
      store: new PluginFolderStore(this.app.vault.adapter, `${this.manifest.dir ?? `.obsidian/plugins/${this.manifest.id}`}/state`),
      clock: {
        now: () => Date.now(),
        setTimeout: (fn, ms) => {
          const id = window.setTimeout(fn, ms);
          return { cancel: () => window.clearTimeout(id) };
        },
      },
      fetch: requestUrlFetch,
      log: { info: write('info'), warn: write('warn'), error: write('error') },
      settings: this.current,
      wasm,
      configDir: this.app.vault.configDir,
    };
    this.port = linkEngine(host);

    this.registerView(STATUS_VIEW, (leaf: WorkspaceLeaf) => new StatusView(leaf, () => this.port, (path) => this.resolveConflict(path)));
    this.register(mountStatusBar(this.addStatusBarItem(), this.port, () => void this.showStatus()));
    this.addSettingTab(
      new TesseraSettingTab(this.app, this, {
        settings: () => this.current,
        update: (patch) => this.updateSettings(patch),
        engine: () => this.port,
        copyDiagnostics: () => this.copyDiagnostics(),
      }),
    );
    registerCommands(this, {
      engine: () => this.port,
      showStatus: () => this.showStatus(),
      resolveConflicts: () => this.resolveConflicts(),
      copyDiagnostics: () => this.copyDiagnostics(),
    });
    registerBinding(this, () => this.port, (line) => this.log.write('warn', line));

    // Editors opened while disconnected have no session: retry once connected.
    let wasConnected = false;
    this.register(
      this.port.onStatus((s) => {
        const connected = s.state === 'connected' || s.state === 'syncing' || s.state === 'read-only';
        if (connected && !wasConnected) retryOpenEditors(this);
        wasConnected = connected;
      }),
    );
    // Vault `create` events fire for every file while the vault loads; the
    // engine starts (and subscribes to vault events) once the layout is ready.
    this.app.workspace.onLayoutReady(() => {
      if (this.current.connectOnStart) this.port.connect().catch((e: unknown) => this.log.write('error', `connect: ${String(e)}`));
    });
  }

  override async onunload(): Promise<void> {
    await this.port?.stop();
  }

  private async updateSettings(patch: Partial<TesseraSettings>): Promise<void> {
    this.current = normalizeSettings({ ...this.current, ...patch }, defaultDeviceName());
    this.log.setLevel(this.current.logLevel);
    await this.saveData(this.current);
    this.port.setLogLevel(this.current.logLevel);
    this.port.applySettings(this.current);
  }

  private async showStatus(): Promise<void> {
    const existing = this.app.workspace.getLeavesOfType(STATUS_VIEW)[0];
    const leaf = existing ?? this.app.workspace.getRightLeaf(false);
    if (!leaf) return;
    if (!existing) await leaf.setViewState({ type: STATUS_VIEW, active: true });
    await this.app.workspace.revealLeaf(leaf);
  }

  /** Walks the conflicts one modal at a time. */
  private resolveConflicts(): void {
    const [first] = this.port.conflicts();
    if (!first) {
      new Notice('Tessera: no conflicts');
      return;
    }
    this.resolveConflict(first.path, () => this.resolveConflicts());
  }

  private resolveConflict(path: string, next?: () => void): void {
    const conflict = this.port.conflicts().find((c) => c.path === path);
    if (!conflict) return;
    new ConflictModal(this.app, conflict, async (keep) => {
      try {
        await this.port.resolveConflict(path, keep);
        next?.();
      } catch (e) {
        new Notice(`Tessera: could not resolve ${path}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }).open();
  }

  private async copyDiagnostics(): Promise<void> {
    const text = [
      `Tessera Sync ${this.manifest.version} on ${Platform.isMobile ? 'mobile' : 'desktop'}`,
      this.port.diagnostics(),
      '--- engine log ---',
      ...this.port.recentLog(),
      '--- adapter log ---',
      ...this.log.recent(),
    ].join('\n');
    await navigator.clipboard.writeText(text);
  }
}

function defaultDeviceName(): string {
  return Platform.isMobile ? 'Phone' : 'Desktop';
}
