// The seam between the sync engine (src/core/engine/) and the editor
// binding (src/core/editor/). Both sides code against these types only.
// Offsets are UTF-16 code units, as CodeMirror counts.

/** One editor change in the coordinates of the text before the batch. */
export interface TextEdit {
  from: number;
  to: number;
  insert: string;
}

/** A Quill-style delta op, as the core's WasmNote.applyRemote returns. */
export type DeltaOp = { retain: number } | { insert: string } | { delete: number };

/** Another device's cursor or selection in this note. */
export interface Presence {
  clientId: number;
  name: string;
  color: string;
  /** Selection anchor and head, resolved to current offsets; null when the peer has no cursor here. */
  anchor: number | null;
  head: number | null;
}

/** A note open in an editor, as the engine exposes it to the binding. */
export interface NoteSession {
  readonly docId: string;
  readonly path: string;
  /** This device may not change the note (read-only token): the editor refuses typing. */
  readonly readOnly?: boolean;
  /** The CRDT's current text (what the editor must show). */
  text(): string;
  /** Local editor changes → CRDT (one update, sent and persisted as pending). */
  applyLocalEdits(edits: TextEdit[]): void;
  /** CRDT changes from elsewhere (other devices, disk imports) → editor. Returns an unsubscribe. */
  onRemoteChange(listener: (delta: DeltaOp[]) => void): () => void;
  /** This device's selection, or null when the editor loses focus. */
  setLocalSelection(selection: { anchor: number; head: number } | null): void;
  /** Other devices' cursors in this note. Returns an unsubscribe. */
  onPresence(listener: (peers: Presence[]) => void): () => void;
  /** The editor closed the note. */
  close(): void;
  /** True once closed, by the editor or by the engine stopping (e.g. new settings). */
  readonly closed?: boolean;
  /**
   * Does an editor showing `path` still show this note? True for the note's
   * path and, during a rename (local or from a collaborator), for the path
   * on either side of it. Without it, only `path` itself matches.
   */
  shows?(path: string): boolean;
}
