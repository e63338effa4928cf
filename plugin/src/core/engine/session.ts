// A note open in an editor: the binding's only way to the note's CRDT.
import type { DeltaOp, NoteSession, Presence, TextEdit } from '../contract';
import type { WasmNote } from './core';
import type { PresenceChannel } from './presence';

export interface SessionHost {
  /** A local update of `docId` to persist and send. */
  localUpdate(docId: string, update: Uint8Array): void;
  closed(session: OpenNote): void;
}

export class OpenNote implements NoteSession {
  private readonly remote = new Set<(delta: DeltaOp[]) => void>();
  private open = true;

  constructor(
    readonly docId: string,
    readonly path: string,
    private readonly note: WasmNote,
    readonly presence: PresenceChannel,
    private readonly host: SessionHost,
    readonly readOnly = false,
  ) {}

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
    if (delta.length > 0) for (const l of this.remote) l(delta);
    // After the editor has the new text: peers' cursors resolve against it.
    this.presence.refresh();
  }

  setLocalSelection(selection: { anchor: number; head: number } | null): void {
    if (this.open) this.presence.setSelection(selection);
  }

  onPresence(listener: (peers: Presence[]) => void): () => void {
    return this.presence.onPresence(listener);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.remote.clear();
    this.presence.leave();
    this.host.closed(this);
  }
}
