// The Rust core (crdt/ compiled to WASM): the only implementation of the
// documents and the protocol. The host hands us the module's bytes (esbuild
// inlines them into main.js; tests read them from crdt/pkg).
import * as core from '../../../../crdt/pkg/tessera_crdt.js';

export * from '../../../../crdt/pkg/tessera_crdt.js';

let ready = false;
let loading: Promise<void> | undefined;

/** Instantiates the WASM module once; later calls are no-ops. */
export function initCore(bytes: Uint8Array): void {
  if (ready) return;
  core.initSync({ module: bytes });
  ready = true;
}

/**
 * Compiles the module off the main thread's critical path (WebAssembly.compile
 * is asynchronous; initSync blocks the UI for the whole compile, which on a
 * phone is noticeable at start-up). Concurrent and later calls share one load.
 */
export function initCoreAsync(bytes: Uint8Array): Promise<void> {
  if (ready) return Promise.resolve();
  loading ??= (async () => {
    const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    if (ready) return;
    await core.default({ module_or_path: module });
    ready = true;
  })();
  return loading;
}

export function coreReady(): boolean {
  return ready;
}
