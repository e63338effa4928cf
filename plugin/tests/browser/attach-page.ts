// Test page for the attacher: one editor whose shown file the test switches
// in place (as a host may), sessions opened on demand with a delay the test
// controls, and one observer session per note (no editor) reading what the
// relay holds. Real core, real relay.
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import wasm from '../../../crdt/pkg/tessera_crdt_bg.wasm';
import { initSync } from '../../../crdt/pkg/tessera_crdt.js';
import { retryAttach, tesseraAttacher } from '../../src/core/editor/index';
import type { NoteSession } from '../../src/core/contract';
import { WasmSocketSession } from './wasm-session';

initSync({ module: wasm });

const params = new URLSearchParams(location.search);
const url = params.get('ws') ?? '';
/** path → doc id, e.g. {"x.md": "…", "y.md": "…"} */
const docs = JSON.parse(params.get('docs') ?? '{}') as Record<string, string>;

const showFile = StateEffect.define<{ path: string; text: string }>();
const shownPath = StateField.define<string | undefined>({
  create: () => undefined,
  update: (value, tr) => tr.effects.reduce((v, e) => (e.is(showFile) ? e.value.path : v), value),
});

const observers = Object.fromEntries(
  Object.entries(docs).map(([path, docId]) => [path, new WasmSocketSession({ url, docId, name: 'observer', color: '#000000' })]),
);
const releases = new Map<string, () => void>();
const opened: string[] = [];
const live = new Map<string, WasmSocketSession>();

function open(path: string): Promise<NoteSession | undefined> {
  const docId = docs[path];
  if (!docId) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    releases.set(path, () => {
      const session = new WasmSocketSession({ url, docId, path, name: 'Editor', color: '#2f9e44' });
      session.synced.then(() => {
        opened.push(path);
        live.set(path, session);
        resolve(session);
      });
    });
  });
}

const view = new EditorView({
  parent: document.getElementById('editor')!,
  state: EditorState.create({
    doc: '',
    extensions: [shownPath, tesseraAttacher({ pathOf: (s) => s.field(shownPath, false), open })],
  }),
});

const api = {
  synced: () => Promise.all(Object.values(observers).map((o) => o.synced)).then(() => true),
  /** Seeds a note's CRDT through its observer, as another device would. */
  seed: (path: string, text: string) => observers[path]!.applyLocalEdits([{ from: 0, to: 0, insert: text }]),
  /** Switches the editor to `path` in place: one transaction replaces the text and the path. */
  show: (path: string, text: string) =>
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, effects: showFile.of({ path, text }) }),
  pendingOpen: (path: string) => releases.has(path),
  release: (path: string) => {
    const go = releases.get(path);
    releases.delete(path);
    go?.();
  },
  opened: () => [...opened],
  /** Closes the editor's session from the engine's side (as a restart with new settings does). */
  dropSession: (path: string) => live.get(path)?.close(),
  /** What the host does once connected again: editors without a live session retry. */
  retry: () => view.dispatch({ effects: retryAttach.of(null) }),
  editorText: () => view.state.doc.toString(),
  crdtText: (path: string) => observers[path]!.text(),
};
(window as unknown as { tessera: typeof api }).tessera = api;
