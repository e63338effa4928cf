// The Rust core (crdt/ compiled to WASM): the only implementation of the
// documents and the protocol. The host hands us the module's bytes (esbuild
// inlines them into main.js; tests read them from crdt/pkg).
import * as core from '../../../../crdt/pkg/tessera_crdt.js';

export * from '../../../../crdt/pkg/tessera_crdt.js';

let ready = false;

/** Instantiates the WASM module once; later calls are no-ops. */
export function initCore(bytes: Uint8Array): void {
  if (ready) return;
  core.initSync({ module: bytes });
  ready = true;
}
