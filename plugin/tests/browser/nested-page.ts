// Test page for how Obsidian hosts editors, as far as the attacher sees it:
// - a note editor whose info field names the editor that owns it (Obsidian's
//   MarkdownFileInfo.editor, obsidian.d.ts; `editor.cm` is its EditorView);
// - a nested editor built from the host editor's state, as Obsidian builds a
//   Live Preview table cell: it inherits the info field (so the note's path)
//   and every registered extension, but shows a fragment (issue 12.1);
// - two panes of one note, each with its own info and handle, where the host
//   copies every change of one pane into the other as a plain transaction
//   (Obsidian keeps views of one file in step itself; issue 12.2).
// One shared session per note (the engine's doc) behind a handle per editor,
// delivering remote changes to the first open handle, as the engine does.
import { EditorState, StateField, type Extension, type Transaction } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import wasm from '../../../crdt/pkg/tessera_crdt_bg.wasm';
import { initSync } from '../../../crdt/pkg/tessera_crdt.js';
import { tesseraAttacher, isTesseraRemote } from '../../src/core/editor/index';
import type { DeltaOp, NoteSession } from '../../src/core/contract';
import { WasmSocketSession } from './wasm-session';

initSync({ module: wasm });

const params = new URLSearchParams(location.search);
const url = params.get('ws') ?? '';
const docId = params.get('doc') ?? '';
const PATH = 'note.md';

interface Info {
  path: string;
  editor: { cm: EditorView | undefined };
}
const infoField = StateField.define<Info | undefined>({ create: () => undefined, update: (v) => v });

const shared = new WasmSocketSession({ url, docId, path: PATH, name: 'Editor', color: '#2f9e44' });
const observer = new WasmSocketSession({ url, docId, name: 'observer', color: '#000000' });
const handles: Handle[] = [];
let opens = 0;

/** One editor's handle on the shared session. */
class Handle implements NoteSession {
  readonly docId = docId;
  readonly path = PATH;
  closed = false;
  private readonly listeners = new Set<(d: DeltaOp[]) => void>();
  text = () => shared.text();
  applyLocalEdits: NoteSession['applyLocalEdits'] = (e) => shared.applyLocalEdits(e);
  setLocalSelection: NoteSession['setLocalSelection'] = () => {};
  onPresence: NoteSession['onPresence'] = () => () => {};
  onRemoteChange(l: (d: DeltaOp[]) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  deliver(d: DeltaOp[]): boolean {
    if (this.closed || this.listeners.size === 0) return false;
    for (const l of this.listeners) l(d);
    return true;
  }
  close(): void {
    this.closed = true;
    handles.splice(handles.indexOf(this), 1);
  }
}
shared.onRemoteChange((d) => handles.some((h) => h.deliver(d)));

const attacher = tesseraAttacher({
  pathOf: (s) => s.field(infoField, false)?.path,
  binds: (view) => view.state.field(infoField, false)?.editor.cm === view,
  open: async () => {
    opens++;
    await shared.synced;
    const h = new Handle();
    handles.push(h);
    return h;
  },
});

const views: Record<string, EditorView> = {};
/** Host-side copy of each pane's changes into its sibling, unannotated (mirrors Obsidian). */
function mirror(from: string, to: string) {
  return EditorView.updateListener.of((u) => {
    const target = views[to];
    if (!target || !u.docChanged) return;
    for (const tr of u.transactions as readonly Transaction[]) {
      if (tr.docChanged && !tr.annotation(mirrored)) queueMicrotask(() => target.dispatch({ changes: tr.changes, annotations: mirrored.of(true) }));
    }
    void isTesseraRemote;
  });
}
import { Annotation } from '@codemirror/state';
const mirrored = Annotation.define<boolean>();

function noteEditor(name: string, extra: Extension = []): EditorView {
  const info: Info = { path: PATH, editor: { cm: undefined } };
  const view = new EditorView({
    parent: document.getElementById(name)!,
    state: EditorState.create({ doc: shared.text(), extensions: [infoField.init(() => info), attacher, extra] }),
  });
  info.editor.cm = view; // assigned after construction, as `this.cm = new EditorView(...)` would
  views[name] = view;
  return view;
}

const api = {
  synced: () => Promise.all([shared.synced, observer.synced]).then(() => true),
  seed: (text: string) => observer.applyLocalEdits([{ from: 0, to: 0, insert: text }]),
  openHost: () => noteEditor('host'),
  /** A table-cell editor: the host's state (field, extensions) with the cell's text. */
  openCell: (text: string) => {
    const host = views.host!;
    views.cell = new EditorView({ parent: document.getElementById('cell')!, state: host.state.update({ changes: { from: 0, to: host.state.doc.length, insert: text } }).state });
  },
  typeIn: (name: string, at: number, text: string) => views[name]!.dispatch({ changes: { from: at, insert: text }, userEvent: 'input.type' }),
  openPanes: () => {
    noteEditor('left', [mirror('left', 'right')]);
    noteEditor('right', [mirror('right', 'left')]);
  },
  closePane: (name: string) => {
    views[name]!.destroy();
    delete views[name];
  },
  remoteInsert: (at: number, text: string) => observer.applyLocalEdits([{ from: at, to: at, insert: text }]),
  handles: () => handles.length,
  opens: () => opens,
  text: (name: string) => views[name]!.state.doc.toString(),
  crdtText: () => observer.text(),
  localText: () => shared.text(),
};
(window as unknown as { tessera: typeof api }).tessera = api;
