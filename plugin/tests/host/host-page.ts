// One Obsidian-like host in a page: the fake `obsidian` module, real
// CodeMirror 6, and the BUILT main.js loaded as Obsidian loads a plugin
// (CommonJS, `require` answering 'obsidian' and '@codemirror/*').
// window.host is what the tests drive.
import * as cmState from '@codemirror/state';
import * as cmView from '@codemirror/view';
import type { EditorView } from '@codemirror/view';
import { installDomHelpers } from './obsidian-fake/dom';

installDomHelpers();
const obsidian = await import('./obsidian-fake/index');
const { App, MarkdownView, Platform, TFile, TFolder } = obsidian;
const { notices } = await import('./obsidian-fake/ui');

const params = new URLSearchParams(location.search);
if (params.get('mobile') === '1') Object.assign(Platform, { isMobile: true, isDesktop: false, isDesktopApp: false, isMobileApp: true, isAndroidApp: true });

// Every socket the plugin opens, to count engine (re)starts.
let socketsOpened = 0;
const RealSocket = window.WebSocket;
window.WebSocket = class extends RealSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    socketsOpened++;
  }
} as typeof WebSocket;

const app = new App();
type PluginLike = InstanceType<typeof obsidian.Plugin> & { port: { status(): { state: string; pending: number } } };
let plugin: PluginLike | undefined;
const leaves = new Map<string, InstanceType<typeof obsidian.WorkspaceLeaf>>();
const nested = new Map<string, EditorView>();
let seq = 0;

function requireFor(name: string): unknown {
  if (name === 'obsidian') return obsidian;
  if (name === '@codemirror/state') return cmState;
  if (name === '@codemirror/view') return cmView;
  throw new Error(`main.js required ${name}, which the host does not provide`);
}

function fileAt(path: string) {
  const f = app.vault.getAbstractFileByPath(path);
  if (!(f instanceof TFile)) throw new Error(`no file ${path}`);
  return f;
}
function cm(id: string): EditorView {
  const n = nested.get(id);
  if (n) return n;
  const v = leaves.get(id)?.view;
  if (!(v instanceof MarkdownView) || !v.editor.cm) throw new Error(`no editor ${id}`);
  return v.editor.cm;
}

const api = {
  async start(data: unknown) {
    const code = await (await fetch('/main.js')).text();
    const module = { exports: {} as Record<string, unknown> };
    new Function('require', 'module', 'exports', code)(requireFor, module, module.exports);
    const Cls = (module.exports.default ?? module.exports) as new (...a: unknown[]) => PluginLike;
    plugin = new Cls(app, { id: 'tessera-sync', name: 'Tessera Sync', version: '0.0.0-host', dir: '.obsidian/plugins/tessera-sync' });
    plugin.data = data;
    await plugin.onload();
    app.workspace.finishLayout();
  },
  async stop() {
    await plugin?.onunload();
    plugin?.unloadAll();
  },
  status: () => plugin!.port.status(),
  diagnostics: () => {
    const port = plugin!.port as unknown as { diagnostics(): string; recentLog(): string[] };
    return [port.diagnostics(), ...port.recentLog()].join('\n');
  },
  statusBar: () => app.statusBarEl.textContent ?? '',
  statusBarShown: () => app.statusBarEl.isConnected && app.statusBarEl.childElementCount > 0,
  socketsOpened: () => socketsOpened,
  saves: () => app.workspace.saves,
  notices: () => notices.slice(),
  savedData: () => plugin!.data,
  setMirror: (on: boolean) => (app.workspace.mirrorSiblings = on),
  setFolderDeleteEvents: (v: 'folder-only' | 'files-then-folder') => (app.vault.folderDeleteEvents = v),
  setDiskDelay: (ms: number) => (app.vault.diskDelayMs = ms),
  // ---- the vault ----
  async write(path: string, text: string) {
    const f = app.vault.getAbstractFileByPath(path);
    if (f instanceof TFile) await app.vault.modify(f, text);
    else await app.vault.create(path, text);
  },
  async pasteImage(path: string, bytes: number) {
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 4096) data[i] = (i * 7919) & 255;
    await app.vault.createBinary(path, data.buffer);
  },
  read: (path: string) => app.vault.peek(path),
  paths: () => app.vault.getFiles().map((f) => f.path).sort(),
  rename: (from: string, to: string) => app.fileManager.renameFile(app.vault.getAbstractFileByPath(from)!, to),
  trash: (path: string) => app.fileManager.trashFile(app.vault.getAbstractFileByPath(path)!),
  isFolder: (path: string) => app.vault.getAbstractFileByPath(path) instanceof TFolder,
  /** A rename by a file manager or git: the vault sees the file go and a new one come. */
  async externalRename(from: string, to: string) {
    const f = fileAt(from);
    const text = await app.vault.read(f);
    await app.vault.delete(f);
    await app.vault.create(to, text);
  },
  // ---- editors ----
  async open(path: string) {
    const leaf = app.workspace.getLeaf();
    await leaf.openFile(fileAt(path));
    const id = `leaf${seq++}`;
    leaves.set(id, leaf);
    return id;
  },
  /** A hover editor: a popover holding its own MarkdownView of the note. */
  async openHover(path: string) {
    const id = await api.open(path);
    leaves.get(id)!.view.containerEl.classList.add('popover', 'hover-editor');
    return id;
  },
  /** A Live Preview table cell or footnote popover over [from, to) of a view's text. */
  openNested(leafId: string, from: number, to: number, kind: 'table-cell' | 'footnote') {
    const v = leaves.get(leafId)!.view as InstanceType<typeof MarkdownView>;
    const id = `${kind}${seq++}`;
    nested.set(id, v.openNested(from, to, v.contentEl.createDiv({ cls: kind })));
    return id;
  },
  closeNested(id: string) {
    nested.get(id)!.destroy();
    nested.delete(id);
  },
  close: (id: string) => {
    leaves.get(id)!.detach();
    leaves.delete(id);
  },
  type(id: string, at: number | 'end', text: string) {
    const view = cm(id);
    const pos = at === 'end' ? view.state.doc.length : at;
    view.dispatch({ changes: { from: pos, insert: text }, selection: { anchor: pos + text.length }, userEvent: 'input.type' });
  },
  focus: (id: string, at: number | 'end') => {
    const view = cm(id);
    view.focus();
    view.dispatch({ selection: { anchor: at === 'end' ? view.state.doc.length : at } });
  },
  text: (id: string) => cm(id).state.doc.toString(),
  composing: (id: string) => cm(id).composing,
  // ---- settings ----
  openSettings() {
    const tab = app.settingTabs[0]!;
    document.body.appendChild(tab.containerEl);
    tab.display();
  },
  settingsText: () => app.settingTabs[0]!.containerEl.innerText,
  // ---- mobile: the app goes to the background and comes back ----
  setVisibility(state: 'hidden' | 'visible') {
    Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
    Object.defineProperty(document, 'hidden', { value: state === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  },
};
(window as unknown as { host: typeof api }).host = api;
(window as unknown as { hostReady: boolean }).hostReady = true;
