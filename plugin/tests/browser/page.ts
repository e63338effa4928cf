// The browser test page: two CodeMirror 6 editors, each with its own WasmNote
// and its own socket to the real relay, bound with tesseraBinding.
import { EditorState } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import wasm from '../../../crdt/pkg/tessera_crdt_bg.wasm';
import { initSync } from '../../../crdt/pkg/tessera_crdt.js';
import { tesseraBinding, drawnPeerCount } from '../../src/core/editor/index';
import { WasmSocketSession } from './wasm-session';

initSync({ module: wasm });

const params = new URLSearchParams(location.search);
const url = params.get('ws') ?? '';
const docId = params.get('doc') ?? '';
const devices = [
  { id: 'a', name: 'Laptop', color: '#d9480f' },
  { id: 'b', name: 'Phone', color: '#1971c2' },
];

const log: string[] = [];
const editors = devices.map((device) => {
  const session = new WasmSocketSession({
    url,
    docId,
    name: device.name,
    color: device.color,
    log: (line) => log.push(`${device.id}: ${line}`),
  });
  const host = document.getElementById(`editor-${device.id}`)!;
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      // Deliberately not the CRDT's text: attaching must replace it, not merge it.
      doc: device.id === 'a' ? 'stale text from disk' : '',
      extensions: [history(), keymap.of([...historyKeymap, ...defaultKeymap]), tesseraBinding(session)],
    }),
  });
  return { device, session, view };
});

/** What the Node test reads and drives. */
const api = {
  synced: () => Promise.all(editors.map((e) => e.session.synced)).then(() => true),
  editorTexts: () => editors.map((e) => e.view.state.doc.toString()),
  crdtTexts: () => editors.map((e) => e.session.text()),
  drawnPeers: () => editors.map((e) => drawnPeerCount(e.view.state)),
  log: () => log,
};
(window as unknown as { tessera: typeof api }).tessera = api;
