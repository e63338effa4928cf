// A note open in an editor: the binding's only way to the note's CRDT.
//
// One OpenNote per editor (a handle), never shared: the same note in two
// panes or a popout gets two handles over one CRDT doc, and closing one pane
// closes only its handle (issue 12.2). The engine keys handles by doc id, so
// a rename does not orphan them (issue 12.4); `path` is where the note is now.
import type { DeltaOp, NoteSession, Presence, TextEdit } from '../contract';
import type { WasmNote } from './core';
import type { PresenceChannel } from './presence';

export interface SessionHost {
  /** A local update of `docId` to persist and send. */
  localUpdate(docId: string, update: Uint8Array): void;
  closed(session: OpenNote): void;
  /** The note's current path (it follows renames, local or remote). */
  pathOf(docId: string): string;
  /** Does an editor showing `path` still show this note (e.g. mid-rename)? */
  shows(docId: string, path: string): boolean;
}

export class OpenNote implements NoteSession {
  private readonly remote = new Set<(delta: DeltaOp[]) => void>();
  private readonly presenceOff = new Set<() => void>();
  private open = true;

  constructor(
    readonly docId: string,
    private readonly note: WasmNote,
    readonly presence: PresenceChannel,
    private readonly host: SessionHost,
    readonly readOnly = false,
  ) {}

  get path(): string {
    return this.host.pathOf(this.docId);
  }

  shows(path: string): boolean {
    return this.host.shows(this.docId, path);
  }

  /** Does an editor listen to this handle's remote changes? */
  get listening(): boolean {
    return this.open && this.remote.size > 0;
  }

  get closed(): boolean {
    return !this.open;
  }

  text(): string {
    return this.note.text();
  }

  applyLocalEdits(edits: TextEdit[]): void {
    if (!this.open || edits.length === 0) return;
    this.host.localUpdate(this.docId, this.note.applyEdits(edits));
  }

  onRemoteChange(listener: (delta: DeltaOp[]) => void): () => void {
    this.remote.add(listener);
    return () => this.remote.delete(listener);
  }

  /** The engine changed the CRDT (other devices, disk imports): tell the editor. */
  emitRemote(delta: DeltaOp[]): void {
    if (delta.length > 0) for (const l of [...this.remote]) l(delta);
    // After the editor has the new text: peers' cursors resolve against it.
    this.presence.refresh();
  }

  setLocalSelection(selection: { anchor: number; head: number } | null): void {
    if (this.open) this.presence.setSelection(selection);
  }

  onPresence(listener: (peers: Presence[]) => void): () => void {
    const off = this.presence.onPresence(listener);
    this.presenceOff.add(off);
    return () => {
      this.presenceOff.delete(off);
      off();
    };
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.remote.clear();
    for (const off of this.presenceOff) off();
    this.presenceOff.clear();
    // The presence channel is the doc's: the engine leaves it with the last handle.
    this.host.closed(this);
  }
}
