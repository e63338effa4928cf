// App, Plugin lifecycle, Platform and requestUrl.
// - Plugin: loadData/saveData hold data.json (obsidian.d.ts Plugin); onload
//   runs before the layout is ready, `workspace.onLayoutReady` after the
//   vault has loaded (obsidian.d.ts: "runs the callback function right away
//   if layout is already ready").
// - addStatusBarItem: "Not available on mobile" (obsidian.d.ts): there the
//   element is returned but never shown.
// - requestUrl runs outside the page (no CORS; on Android the body crosses a
//   bridge as base64, Remotely Save #182): here it goes to node through an
//   exposed function, base64 both ways.
import { Events } from './events';
import { FileManager, Vault } from './vault';
import { Workspace, type View, type WorkspaceLeaf } from './workspace';

export const Platform = { isMobile: false, isDesktop: true, isDesktopApp: true, isMobileApp: false, isAndroidApp: false, isIosApp: false };

/**
 * obsidian.d.ts SecretStorage (1.11.4): getSecret / setSecret / listSecrets;
 * setSecret throws for an id that is not lowercase alphanumeric with dashes
 * (docs.obsidian.md/Reference/TypeScript+API/SecretStorage/setSecret).
 */
export class SecretStorage {
  private readonly secrets = new Map<string, string>();
  getSecret(id: string): string | null {
    return this.secrets.get(id) ?? null;
  }
  setSecret(id: string, secret: string): void {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id)) throw new Error(`invalid secret id ${id}`);
    this.secrets.set(id, secret);
  }
  listSecrets(): string[] {
    return [...this.secrets.keys()];
  }
}

export class App {
  readonly vault = new Vault();
  readonly workspace = new Workspace(this);
  readonly fileManager = new FileManager(this.vault);
  readonly metadataCache = new Events();
  /** obsidian.d.ts App.secretStorage (1.11.4): per-device secrets, out of data.json. */
  readonly secretStorage = new SecretStorage();
  readonly statusBarEl = document.body.createDiv({ cls: 'status-bar' });
  readonly settingTabs: PluginSettingTabLike[] = [];
}

interface PluginSettingTabLike {
  containerEl: HTMLElement;
  display(): void;
  hide(): void;
}

export interface Manifest {
  id: string;
  name: string;
  version: string;
  dir?: string;
}

export class Component {
  private readonly cleanups: (() => void)[] = [];
  register(fn: () => void): void {
    this.cleanups.push(fn);
  }
  registerEvent(ref: { name: string }): void {
    void ref;
  }
  registerDomEvent(el: EventTarget, type: string, fn: EventListener): void {
    el.addEventListener(type, fn);
    this.register(() => el.removeEventListener(type, fn));
  }
  registerInterval(id: number): number {
    this.register(() => window.clearInterval(id));
    return id;
  }
  unloadAll(): void {
    this.cleanups.splice(0).reverse().forEach((fn) => fn());
  }
}

export class Plugin extends Component {
  data: unknown = null;
  commands: { id: string; name: string; callback?: () => unknown; checkCallback?: (checking: boolean) => unknown }[] = [];
  constructor(
    public app: App,
    public manifest: Manifest,
  ) {
    super();
  }
  async onload(): Promise<void> {}
  async onunload(): Promise<void> {}
  async loadData(): Promise<unknown> {
    return this.data === null ? null : structuredClone(this.data);
  }
  async saveData(data: unknown): Promise<void> {
    this.data = structuredClone(data);
  }
  addStatusBarItem(): HTMLElement {
    const el = createDiv({ cls: 'status-bar-item' });
    if (!Platform.isMobile) this.app.statusBarEl.appendChild(el);
    return el;
  }
  addRibbonIcon(icon: string, title: string, cb: () => void): HTMLElement {
    const el = createDiv({ cls: 'ribbon-icon', attr: { 'aria-label': title, 'data-icon': icon } });
    el.addEventListener('click', cb);
    return el;
  }
  addSettingTab(tab: PluginSettingTabLike): void {
    this.app.settingTabs.push(tab);
  }
  addCommand(c: Plugin['commands'][number]): void {
    this.commands.push(c);
  }
  registerView(type: string, make: (leaf: WorkspaceLeaf) => View): void {
    this.app.workspace.viewTypes.set(type, make);
  }
  registerEditorExtension(ext: unknown): void {
    this.app.workspace.editorExtensions.push(ext as never);
    this.app.workspace.updateOptions();
  }
  registerObsidianProtocolHandler(): void {}
}

declare function createDiv(o?: { cls?: string; attr?: Record<string, string> }): HTMLDivElement;

interface HostFetchResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}
declare global {
  interface Window {
    __hostFetch(url: string, method: string, headers: Record<string, string>, body: string | null): Promise<HostFetchResult>;
  }
}

const b64 = {
  from(bytes: Uint8Array): string {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  },
  to(s: string): Uint8Array {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  },
};

export async function requestUrl(req: { url: string; method?: string; headers?: Record<string, string>; contentType?: string; body?: string | ArrayBuffer; throw?: boolean }) {
  const body = req.body === undefined ? null : b64.from(typeof req.body === 'string' ? new TextEncoder().encode(req.body) : new Uint8Array(req.body));
  const headers = { ...(req.headers ?? {}), ...(req.contentType ? { 'content-type': req.contentType } : {}) };
  const r = await window.__hostFetch(req.url, req.method ?? 'GET', headers, body);
  const bytes = b64.to(r.body);
  if (r.status >= 400 && req.throw !== false) throw new Error(`Request failed, status ${r.status}`);
  const text = new TextDecoder().decode(bytes);
  return {
    status: r.status,
    headers: r.headers,
    arrayBuffer: bytes.buffer,
    text,
    get json() {
      return JSON.parse(text);
    },
  };
}
