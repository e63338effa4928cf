// Workspace, leaves and Markdown views with real CodeMirror 6 editors.
//
// Host behaviours reproduced, with sources:
// - `editorInfoField` is a StateField<MarkdownFileInfo> on every Markdown
//   editor state; a MarkdownView is its own MarkdownFileInfo (`file`,
//   `editor`), and `editor.cm` is the EditorView (obsidian.d.ts:
//   `editorInfoField`, `MarkdownFileInfo.editor`; `cm` is untyped but is how
//   plugins reach CodeMirror, see src/obsidian/editor.ts).
// - Registered editor extensions are in every Markdown editor
//   (obsidian.d.ts `Plugin.registerEditorExtension`).
// - Autosave: `TextFileView.requestSave` is "debounced save in 2 seconds from
//   now" (obsidian.d.ts); the save writes the buffer with Vault.modify.
//   Closing a view saves what is unsaved first.
// - Nested editors (Live Preview table cells, footnote popovers): Obsidian
//   builds them from the host editor's state, so they inherit the host's
//   editorInfoField and every extension, and write their fragment back into
//   the host document (issue 12.1; Relay's commits on table cells and
//   footnotes, "verified against Obsidian 1.13.6").
// - Two views of one file: Obsidian copies each change into the sibling
//   views as plain, unannotated transactions (issue 12.2, Relay's sibling-pane
//   commit). Uncertain, so `mirrorSiblings` can turn it off.
// - A hover editor (page preview popover) is a separate MarkdownView of the
//   file with its own info and editor, like a sibling pane.
import { Annotation, Compartment, EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import type { App } from './app';
import { TFile } from './vault';

export const editorInfoField = StateField.define<MarkdownView | undefined>({ create: () => undefined, update: (v) => v });
/** Marks the host's own copies between views, so a copy is not copied back. */
const hostCopy = Annotation.define<boolean>();
const AUTOSAVE_MS = 2000;

export abstract class View {
  containerEl: HTMLElement;
  contentEl: HTMLElement;
  constructor(public leaf: WorkspaceLeaf) {
    this.containerEl = leaf.app.workspace.containerEl.createDiv({ cls: 'workspace-leaf' });
    this.contentEl = this.containerEl.createDiv({ cls: 'view-content' });
  }
  get app(): App {
    return this.leaf.app;
  }
  abstract getViewType(): string;
  getDisplayText(): string {
    return '';
  }
  getIcon(): string {
    return '';
  }
  async onOpen(): Promise<void> {}
  async onClose(): Promise<void> {}
}

export class ItemView extends View {
  getViewType(): string {
    return 'item';
  }
}

export class MarkdownView extends View {
  file: TFile | null = null;
  editor: { cm: EditorView | undefined; getValue(): string } = { cm: undefined, getValue: () => this.editor.cm?.state.doc.toString() ?? '' };
  private saveTimer: number | undefined;
  private dirty = false;
  readonly extensions = new Compartment();

  getViewType(): string {
    return 'markdown';
  }

  async load(file: TFile): Promise<void> {
    this.file = file;
    const text = await this.app.vault.read(file);
    const ws = this.app.workspace;
    this.editor.cm = new EditorView({
      parent: this.contentEl,
      state: EditorState.create({
        doc: text,
        extensions: [
          editorInfoField.init(() => this),
          this.extensions.of(ws.editorExtensions.slice()),
          EditorView.updateListener.of((u) => {
            if (!u.docChanged) return;
            this.requestSave();
            if (ws.mirrorSiblings && !u.transactions.some((tr) => tr.annotation(hostCopy))) {
              for (const other of ws.viewsOf(file)) if (other !== this) other.editor.cm?.dispatch({ changes: u.changes, annotations: hostCopy.of(true) });
            }
          }),
        ],
      }),
    });
  }

  /** Debounced 2 s (obsidian.d.ts TextFileView.requestSave). */
  requestSave(): void {
    if (!this.file) return;
    this.dirty = true;
    window.clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => void this.save(), AUTOSAVE_MS);
  }

  async save(): Promise<void> {
    window.clearTimeout(this.saveTimer);
    if (!this.dirty || !this.file || !this.editor.cm) return;
    this.dirty = false;
    this.app.workspace.saves++;
    await this.app.vault.modify(this.file, this.editor.cm.state.doc.toString());
  }

  override async onClose(): Promise<void> {
    await this.save();
    this.editor.cm?.destroy();
  }

  /** The file is gone: no more saves; the editor stays until the leaf closes. */
  dropFile(): void {
    window.clearTimeout(this.saveTimer);
    this.dirty = false;
    this.file = null;
  }

  /**
   * A nested editor over `[from, to)` of this view's text, built from this
   * view's state as Obsidian builds a table cell or footnote editor. Its
   * changes are written back into this view's document.
   */
  openNested(from: number, to: number, parent: HTMLElement): EditorView {
    const host = this.editor.cm!;
    let start = from;
    let end = to;
    const spliceBack = EditorView.updateListener.of((u) => {
      if (!u.docChanged) return;
      const text = u.state.doc.toString();
      host.dispatch({ changes: { from: start, to: end, insert: text }, userEvent: 'input' });
      end = start + text.length;
    });
    const fragment = host.state.doc.sliceString(from, to);
    const state = host.state.update({
      changes: { from: 0, to: host.state.doc.length, insert: fragment },
      effects: StateEffect.appendConfig.of(spliceBack),
    }).state;
    void start;
    return new EditorView({ state, parent });
  }
}

export class WorkspaceLeaf {
  view: View;
  constructor(public app: App) {
    this.view = new EmptyView(this);
  }
  async openFile(file: TFile): Promise<void> {
    await this.view.onClose();
    const view = new MarkdownView(this);
    this.view = view;
    await view.load(file);
    this.app.workspace.activeLeaf = this;
  }
  async setViewState(state: { type: string; active?: boolean }): Promise<void> {
    const make = this.app.workspace.viewTypes.get(state.type);
    if (!make) return;
    this.view = make(this);
    await this.view.onOpen();
  }
  getViewState(): { type: string } {
    return { type: this.view.getViewType() };
  }
  detach(): void {
    const ws = this.app.workspace;
    ws.leaves = ws.leaves.filter((l) => l !== this);
    void this.view.onClose().then(() => this.view.containerEl.remove());
  }
}

class EmptyView extends View {
  getViewType(): string {
    return 'empty';
  }
}

export class Workspace {
  readonly containerEl = document.body.createDiv({ cls: 'workspace' });
  leaves: WorkspaceLeaf[] = [];
  activeLeaf: WorkspaceLeaf | null = null;
  readonly viewTypes = new Map<string, (leaf: WorkspaceLeaf) => View>();
  readonly editorExtensions: Extension[] = [];
  layoutReady = false;
  private readonly readyCallbacks: (() => void)[] = [];
  mirrorSiblings = true;
  saves = 0;

  constructor(private readonly app: App) {
    // A view whose file is deleted stops showing it, unsaved (Obsidian's
    // FileView drops a deleted file; uncertain whether the tab closes or
    // shows an empty view — either way nothing more is saved from it).
    app.vault.on('delete', (f: unknown) => {
      if (!(f instanceof TFile)) return;
      for (const v of this.viewsOf(f)) v.dropFile();
    });
  }

  getLeaf(): WorkspaceLeaf {
    const leaf = new WorkspaceLeaf(this.app);
    this.leaves.push(leaf);
    return leaf;
  }
  getRightLeaf(): WorkspaceLeaf {
    return this.getLeaf();
  }
  async revealLeaf(): Promise<void> {}
  getLeavesOfType(type: string): WorkspaceLeaf[] {
    return this.leaves.filter((l) => l.view.getViewType() === type);
  }
  iterateAllLeaves(fn: (leaf: WorkspaceLeaf) => void): void {
    this.leaves.forEach(fn);
  }
  getActiveFile(): TFile | null {
    const v = this.activeLeaf?.view;
    return v instanceof MarkdownView ? v.file : null;
  }
  viewsOf(file: TFile): MarkdownView[] {
    return this.leaves.map((l) => l.view).filter((v): v is MarkdownView => v instanceof MarkdownView && v.file === file);
  }
  /** obsidian.d.ts: runs at once when the layout is already ready. */
  onLayoutReady(fn: () => void): void {
    if (this.layoutReady) fn();
    else this.readyCallbacks.push(fn);
  }
  finishLayout(): void {
    this.layoutReady = true;
    this.readyCallbacks.splice(0).forEach((fn) => fn());
  }
  /** Obsidian's updateOptions: registered extensions reach open editors too. */
  updateOptions(): void {
    for (const leaf of this.leaves) {
      const v = leaf.view;
      if (v instanceof MarkdownView) v.editor.cm?.dispatch({ effects: v.extensions.reconfigure(this.editorExtensions.slice()) });
    }
  }
}
