// Placeholder entry point: the Obsidian adapter (src/obsidian/) replaces it.
// It only proves the bundle builds with the core's WASM inlined.
import { Plugin } from 'obsidian';
import wasm from '../../crdt/pkg/tessera_crdt_bg.wasm';
import { initCore } from './core/engine/core';

export default class TesseraSyncPlugin extends Plugin {
  override async onload(): Promise<void> {
    // The .wasm has a wasm-bindgen .d.ts of its own; esbuild's binary loader makes it bytes.
    initCore(wasm as unknown as Uint8Array);
  }
}
