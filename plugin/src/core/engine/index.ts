// The engine's public surface for the Obsidian adapter.
export { SyncEngine, type EngineOptions, type FileState } from './engine';
export type { BinaryConflict } from './disk';
export type { SyncState, SyncStatus } from './status';
export { SyncFilter, type FilterRules } from './filter';
export { initCore } from './core';
export { MemoryStore, MemoryVault, systemClock } from './memory';
export type * from './ports';
