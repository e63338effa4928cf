// Replays an editing trace keystroke by keystroke in Node, through either
// Tessera's WASM core or Yjs, and prints {ops, ms, ok} as JSON.
// Usage: node bench/replay.mjs wasm|yjs TRACE.json.gz
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const [engine, tracePath] = process.argv.slice(2);
const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString('utf8'));

// Code points → UTF-16 (JS string units), computed before timing.
// ASCII traces convert for free; others walk a char model (slow, untimed).
const ascii = (s) => /^[\x00-\x7f]*$/.test(s);
const patches = trace.txns.flatMap((t) => t.patches);
const allAscii = ascii(trace.startContent ?? '') && patches.every(([, , ins]) => ascii(ins));
const ops = [];
let chars = allAscii ? null : Array.from(trace.startContent ?? '');
for (const [pos, del, ins] of patches) {
  if (allAscii) {
    ops.push([pos, del, ins]);
    continue;
  }
  const at = chars.slice(0, pos).join('').length;
  const delete16 = chars.slice(pos, pos + del).join('').length;
  chars.splice(pos, del, ...Array.from(ins));
  ops.push([at, delete16, ins]);
}

let run;
if (engine === 'wasm') {
  const pkg = new URL('../crdt/pkg/', import.meta.url);
  const core = await import(new URL('tessera_crdt.js', pkg));
  core.initSync({ module: readFileSync(fileURLToPath(new URL('tessera_crdt_bg.wasm', pkg))) });
  run = () => {
    const note = new core.WasmNote(1);
    if (trace.startContent) note.insert(0, trace.startContent);
    for (const [at, del, ins] of ops) {
      if (del > 0) note.delete(at, del);
      if (ins) note.insert(at, ins);
    }
    return note.text();
  };
} else if (engine === 'yjs') {
  const Y = await import('yjs');
  run = () => {
    const doc = new Y.Doc();
    doc.clientID = 1;
    // Like a provider, take each keystroke's update: Tessera's note returns one per edit too.
    let updateBytes = 0;
    doc.on('update', (u) => { updateBytes += u.length; });
    const text = doc.getText('content');
    if (trace.startContent) text.insert(0, trace.startContent);
    for (const [at, del, ins] of ops) {
      if (del > 0) text.delete(at, del);
      if (ins) text.insert(at, ins);
    }
    if (updateBytes === 0) throw new Error('no updates emitted');
    return text.toString();
  };
} else {
  throw new Error(`unknown engine ${engine}: use wasm or yjs`);
}

const t0 = performance.now();
const result = run();
const ms = performance.now() - t0;
console.log(JSON.stringify({ ops: ops.length, ms, ok: result === trace.endContent }));
if (result !== trace.endContent) process.exit(1);
