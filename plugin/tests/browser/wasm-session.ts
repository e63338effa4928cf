// A minimal NoteSession for the browser test, built only from the core's
// WASM API (WasmNote + the vault-endpoint frame codec) and one WebSocket.
// It is test scaffolding, not the product: the production NoteSession comes
// from the sync engine (src/core/engine/), with persistence, pending queues,
// acks and reconnects. Acks are ignored here. Cursors cross as Yjs relative
// positions (WasmNote.stickyAt / resolveSticky), resolved again after each
// change of the text; numbers are read as absolute offsets.
import {
  WasmNote,
  decodeAwarenessUpdate,
  decodeFrame,
  encodeAwarenessFrame,
  encodeAwarenessUpdate,
  encodeStep1,
  encodeStep2,
  encodeUpdate,
  randomClientId,
} from '../../../crdt/pkg/tessera_crdt.js';
import type { DeltaOp, NoteSession, Presence, TextEdit } from '../../src/core/contract';

interface CursorState {
  name?: unknown;
  color?: unknown;
  cursor?: { anchor?: unknown; head?: unknown } | null;
}

export interface WasmSessionOptions {
  url: string;
  docId: string;
  /** The note's vault path (NoteSession.path); defaults to `<docId>.md`. */
  path?: string;
  name: string;
  color: string;
  log?: (line: string) => void;
}

export class WasmSocketSession implements NoteSession {
  readonly docId: string;
  readonly path: string;
  readonly note: WasmNote;
  private readonly clientId = randomClientId();
  private readonly socket: WebSocket;
  private readonly remoteListeners = new Set<(delta: DeltaOp[]) => void>();
  private readonly presenceListeners = new Set<(peers: Presence[]) => void>();
  private readonly peers = new Map<number, { clock: number; cursor: { anchor?: unknown; head?: unknown } | null; presence: Presence }>();
  private awarenessClock = 0;
  private readonly outbox: Uint8Array[] = [];
  /** Resolves when the relay answered our sync step 1 (we hold the merged state). */
  readonly synced: Promise<void>;
  private resolveSynced!: () => void;

  constructor(private readonly options: WasmSessionOptions) {
    this.docId = options.docId;
    this.path = options.path ?? `${options.docId}.md`;
    this.note = new WasmNote(this.clientId);
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    this.socket = new WebSocket(options.url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.onopen = () => {
      this.socket.send(bytes(encodeStep1(this.docId, this.note.stateVector())));
      for (const frame of this.outbox.splice(0)) this.socket.send(bytes(frame));
    };
    this.socket.onmessage = (event) => this.receive(new Uint8Array(event.data as ArrayBuffer));
    this.socket.onclose = (event) => options.log?.(`socket closed ${event.code} ${event.reason}`);
  }

  text(): string {
    return this.note.text();
  }

  applyLocalEdits(edits: TextEdit[]): void {
    if (edits.length === 0) return;
    this.send(encodeUpdate(this.docId, this.note.applyEdits(edits)));
    this.resolvePeers();
  }

  onRemoteChange(listener: (delta: DeltaOp[]) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  setLocalSelection(selection: { anchor: number; head: number } | null): void {
    const cursor = selection && { anchor: this.note.stickyAt(selection.anchor), head: this.note.stickyAt(selection.head) };
    const state = { name: this.options.name, color: this.options.color, cursor };
    const update = encodeAwarenessUpdate(this.clientId, ++this.awarenessClock, JSON.stringify(state));
    this.send(encodeAwarenessFrame(this.docId, update));
  }

  onPresence(listener: (peers: Presence[]) => void): () => void {
    this.presenceListeners.add(listener);
    listener(this.presence());
    return () => this.presenceListeners.delete(listener);
  }

  closed = false;

  close(): void {
    this.closed = true;
    this.socket.close(1000, 'closed');
  }

  private send(frame: Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes(frame));
    else this.outbox.push(frame);
  }

  private receive(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    const kind = frame.kind;
    if (frame.doc !== this.docId) {
      frame.free();
      return;
    }
    switch (kind) {
      case 'step1':
        this.send(encodeStep2(this.docId, this.note.diffSince(frame.payload)));
        break;
      case 'step2':
      case 'update': {
        const delta = this.note.applyRemote(frame.payload) as DeltaOp[];
        if (delta.length > 0) for (const l of this.remoteListeners) l(delta);
        this.resolvePeers();
        if (kind === 'step2') this.resolveSynced();
        break;
      }
      case 'awareness':
        this.receiveAwareness(frame.payload);
        break;
      case 'error':
      case 'permission-denied':
        this.options.log?.(`relay ${kind}: ${frame.code} ${frame.text}`);
        break;
      default:
        break; // hello, ack: acks are ignored by this test session
    }
    frame.free();
  }

  private receiveAwareness(payload: Uint8Array): void {
    for (const entry of decodeAwarenessUpdate(payload)) {
      if (entry.client === this.clientId) continue;
      const known = this.peers.get(entry.client);
      if (known && known.clock >= entry.clock) continue;
      const state = entry.state as CursorState | null;
      if (state === null) {
        this.peers.delete(entry.client);
        continue;
      }
      const cursor = state.cursor ?? null;
      this.peers.set(entry.client, {
        clock: entry.clock,
        cursor,
        presence: {
          clientId: entry.client,
          name: typeof state.name === 'string' ? state.name : '',
          color: typeof state.color === 'string' ? state.color : '',
          anchor: cursor ? this.offset(cursor.anchor) : null,
          head: cursor ? this.offset(cursor.head) : null,
        },
      });
    }
    this.emitPresence();
  }

  /** The text changed: peers' relative positions may resolve elsewhere now. */
  private resolvePeers(): void {
    let moved = false;
    for (const p of this.peers.values()) {
      const anchor = p.cursor ? this.offset(p.cursor.anchor) : null;
      const head = p.cursor ? this.offset(p.cursor.head) : null;
      if (anchor === p.presence.anchor && head === p.presence.head) continue;
      p.presence = { ...p.presence, anchor, head };
      moved = true;
    }
    if (moved) this.emitPresence();
  }

  private offset(pos: unknown): number | null {
    if (typeof pos === 'number') return pos;
    return this.note.resolveSticky(pos) ?? null;
  }

  private emitPresence(): void {
    const peers = this.presence();
    for (const l of this.presenceListeners) l(peers);
  }

  private presence(): Presence[] {
    return [...this.peers.values()].map((p) => p.presence);
  }
}

/** The DOM typings refuse views that might sit on a SharedArrayBuffer; the core's never do. */
function bytes(frame: Uint8Array): Uint8Array<ArrayBuffer> {
  return frame as Uint8Array<ArrayBuffer>;
}
