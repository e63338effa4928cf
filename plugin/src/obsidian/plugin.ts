// The Plugin class: builds the host ports, starts the engine, and mounts the
// UI pieces. Everything with decisions in it lives in src/core.
import { Notice, Platform, Plugin, type WorkspaceLeaf } from 'obsidian';
import wasmBytes from '../../../crdt/pkg/tessera_crdt_bg.wasm';
import { LogBuffer } from '../core/ui/log-buffer';
import { dataToSave, loadToken, tokenSecretId, type SecretStore } from '../core/ui/secrets';
import { normalizeSettings, type TesseraSettings } from '../core/ui/settings';
import { parseSetupLink, SETUP_ACTION } from '../core/ui/setup-link';
import { registerCommands } from './commands';
import { registerBinding, retryOpenEditors } from './editor';
import { linkEngine } from './engine-link';
import type { EngineHost, EnginePort } from '../core/port';
import { requestUrlFetch } from './host/fetch';
import { PluginFolderStore } from './host/store';
import { browserSocketTransport } from './host/transport';
import { ObsidianVaultFiles } from './host/vault';
import { mountRibbon, watchLifecycle } from './mobile';
import { confirmAction } from './modals/confirm-modal';
import { ConflictModal } from './modals/conflict-modal';
import { askHeldDeletes } from './modals/held-deletes-modal';
import { TesseraSettingTab } from './settings-tab';
import { mountStatusBar } from './status-bar';
import { STATUS_VIEW, StatusView } from './status-view';

// esbuild's binary loader makes the import the module's bytes; TypeScript sees
// wasm-bindgen's .d.ts for that file (its exports) instead.
const wasm = wasmBytes as unknown as Uint8Array;

/**
 * Obsidian does not await `onunload`: a disable-then-enable (or an update)
 * can start the next instance while the last one still writes its store.
 * The stop in flight is kept here, on the window (a reloaded main.js has a
 * fresh module scope), and the next onload waits for it before connecting.
 */
const STOPPING = Symbol.for('tessera-sync.stopping');
type StopSlot = { [STOPPING]?: Promise<void> };

export default class TesseraSyncPlugin extends Plugin {
  private current!: TesseraSettings;
  private port!: EnginePort;
  private readonly log = new LogBuffer();

  private asking = false;
  /** Closed without an answer: not asked again unprompted until the next start. */
  private heldDismissed = false;

  /** Obsidian ≥ 1.11.4 keeps secrets outside the vault; older apps have none. */
  private get secrets(): SecretStore | undefined {
    const s = (this.app as unknown as { secretStorage?: SecretStore }).secretStorage;
    return s && typeof s.getSecret === 'function' && typeof s.setSecret === 'function' ? s : undefined;
  }

  private get secretId(): string {
    return tokenSecretId(this.app.vault.getName());
  }

  override async onload(): Promise<void> {
    const stored = normalizeSettings(await this.loadData(), defaultDeviceName());
    const { token, migrate } = loadToken(stored, this.secrets, this.secretId);
    this.current = { ...stored, token };
    // The plain-text token leaves data.json as soon as a secret store has it.
    if (migrate) await this.saveData(dataToSave(this.current, this.secrets, this.secretId));
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
      mobile: Platform.isMobile,
      configDir: this.app.vault.configDir,
    };
    this.port = linkEngine(host);

    this.registerView(STATUS_VIEW, (leaf: WorkspaceLeaf) => new StatusView(leaf, () => this.port, (path) => this.resolveConflict(path), () => this.decideHeldDeletes()));
    // Mobile has no status bar (addStatusBarItem's element is never shown there).
    if (!Platform.isMobile) this.register(mountStatusBar(this.addStatusBarItem(), this.port, () => void this.showStatus()));
    mountRibbon(this, () => this.port, () => void this.showStatus());
    watchLifecycle(this, () => this.port, (line) => this.log.write('warn', line));
    this.registerObsidianProtocolHandler(SETUP_ACTION, (params) => void this.setupFromLink(params));
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
      decideHeldDeletes: () => this.decideHeldDeletes(),
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
        if (s.heldDeletes && !this.heldDismissed) void this.askAboutHeldDeletes();
      }),
    );
    // Vault `create` events fire for every file while the vault loads; the
    // engine starts (and subscribes to vault events) once the layout is ready.
    this.app.workspace.onLayoutReady(() => {
      if (!this.current.connectOnStart) return;
      const before = (window as unknown as StopSlot)[STOPPING] ?? Promise.resolve();
      before
        .then(() => this.port.connect())
        .catch((e: unknown) => this.log.write('error', `connect: ${String(e)}`));
    });
  }

  /**
   * Not awaited by Obsidian. What must not be half-done is synchronous in
   * stop() (the socket closes, vault events are unsubscribed, open editors
   * let go); the store writes behind it run on, and the next instance waits.
   */
  override onunload(): void {
    const slot = window as unknown as StopSlot;
    const prior = slot[STOPPING] ?? Promise.resolve();
    const stopping = prior
      .then(() => this.port?.stop())
      .catch((e: unknown) => console.error(`Tessera: stopping: ${String(e)}`));
    slot[STOPPING] = stopping;
    void stopping.finally(() => {
      if (slot[STOPPING] === stopping) delete slot[STOPPING];
    });
  }

  /** obsidian://tessera-setup?url=…&vault=…&token=…: fills the settings after the user confirms. */
  private async setupFromLink(params: Record<string, string | undefined>): Promise<void> {
    const parsed = parseSetupLink(params);
    if (!parsed.ok) {
      new Notice(`Tessera: this setup link cannot be used: ${parsed.reason}`);
      return;
    }
    const { serverUrl, vaultId, token } = parsed.offer;
    const replacing = this.current.serverUrl && (this.current.serverUrl !== serverUrl || this.current.vaultId !== vaultId);
    const ok = await confirmAction(
      this.app,
      'Set up Tessera Sync from a link',
      `Sync this vault ("${this.app.vault.getName()}") with vault "${vaultId}" on ${serverUrl}?` +
        (replacing ? ` This replaces the current relay ${this.current.serverUrl} (vault "${this.current.vaultId}").` : '') +
        ' Only accept links you made yourself: the relay receives every note of this vault.',
      'Use this relay',
    );
    if (!ok) return;
    await this.updateSettings({ serverUrl, vaultId, token, connectOnStart: true });
    await this.port.connect();
    new Notice(`Tessera: set up for vault "${vaultId}" on ${serverUrl}`);
  }

  private decideHeldDeletes(): void {
    this.heldDismissed = false;
    void this.askAboutHeldDeletes();
  }

  private async askAboutHeldDeletes(): Promise<void> {
    if (this.asking) return;
    const paths = this.port.heldDeletes();
    if (paths.length === 0) return;
    this.asking = true;
    try {
      const choice = await askHeldDeletes(this.app, paths);
      if (choice) await this.port.resolveHeldDeletes(choice);
      else this.heldDismissed = true;
    } catch (e) {
      new Notice(`Tessera: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.asking = false;
    }
  }

  private async updateSettings(patch: Partial<TesseraSettings>): Promise<void> {
    this.current = normalizeSettings({ ...this.current, ...patch }, defaultDeviceName());
    this.log.setLevel(this.current.logLevel);
    await this.saveData(dataToSave(this.current, this.secrets, this.secretId));
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
    }, this.current.deviceName).open();
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
