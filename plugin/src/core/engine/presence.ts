// Awareness for one open note: this device's cursor out, other devices'
// cursors in.
//
// Cursors travel as Yjs relative positions, in the awareness state shape of
// y-codemirror.next, so stock Yjs editors read ours and we read theirs:
//
//   { user: { name, color }, cursor: { anchor: RelPos, head: RelPos } | null }
//
// where RelPos is `Y.relativePositionToJSON`'s form,
// `{ tname: 'content', item: { client, clock }, assoc: 0 }` (no `item` at the
// end of the text). assoc 0 keeps a position to the character after
// it, so text another device types at a cursor lands before it (as in
// y-codemirror.next). A relative position names a character, not an offset,
// so a peer's cursor follows every edit without the peer sending anything:
// peers' positions are resolved against the note again after each change,
// and listeners hear about it when an offset moved. Older clients sent
// absolute offsets (numbers); those are still accepted as they are.
import type { RelativePositionJson, WasmNote } from './core';
import type { Presence } from '../contract';
import { decodeAwarenessUpdate, encodeAwarenessFrame, encodeAwarenessUpdate } from './core';

export interface PresenceIdentity {
  name: string;
  color: string;
}

interface AwarenessStateJson {
  user?: { name?: unknown; color?: unknown };
  cursor?: { anchor?: unknown; head?: unknown } | null;
}

/** What the channel needs of the note: positions made and resolved by the core. */
export type PresenceNote = Pick<WasmNote, 'stickyAt' | 'resolveSticky' | 'length'>;

interface Peer {
  clientId: number;
  name: string;
  color: string;
  /** The cursor as received: relative positions, or numbers from older clients. */
  cursor: { anchor: unknown; head: unknown } | null;
  /** The cursor resolved against the note as it is now. */
  anchor: number | null;
  head: number | null;
}

export class PresenceChannel {
  private clock = 0;
  private selection: { anchor: RelativePositionJson; head: RelativePositionJson } | null = null;
  private readonly peers = new Map<number, Peer>();
  private readonly listeners = new Set<(peers: Presence[]) => void>();

  constructor(
    private readonly docId: string,
    private readonly clientId: number,
    private readonly note: PresenceNote,
    private readonly identity: () => PresenceIdentity,
    private readonly send: (frame: Uint8Array) => void,
  ) {}

  /** This device's selection in the note's current offsets; kept as relative positions. */
  setSelection(selection: { anchor: number; head: number } | null): void {
    this.selection = null;
    if (selection) {
      try {
        this.selection = { anchor: this.note.stickyAt(selection.anchor), head: this.note.stickyAt(selection.head) };
      } catch {
        // Offsets past the end or inside a character: show no cursor rather than a wrong one.
      }
    }
    this.announce();
  }

  /** Sends the current state again (renewal keeps peers from timing us out). */
  announce(): void {
    const { name, color } = this.identity();
    const state = JSON.stringify({ user: { name, color }, cursor: this.selection });
    this.send(encodeAwarenessFrame(this.docId, encodeAwarenessUpdate(this.clientId, ++this.clock, state)));
  }

  leave(): void {
    this.send(encodeAwarenessFrame(this.docId, encodeAwarenessUpdate(this.clientId, ++this.clock, 'null')));
  }

  receive(update: Uint8Array): void {
    for (const entry of decodeAwarenessUpdate(update)) {
      if (entry.client === this.clientId) continue;
      const s = entry.state as AwarenessStateJson | null;
      if (!s || typeof s !== 'object') {
        this.peers.delete(entry.client);
        continue;
      }
      const user = typeof s.user === 'object' && s.user !== null ? s.user : {};
      const c = s.cursor;
      const peer: Peer = {
        clientId: entry.client,
        name: typeof user.name === 'string' ? user.name : 'device',
        color: typeof user.color === 'string' ? user.color : '#888888',
        cursor: typeof c === 'object' && c !== null ? { anchor: c.anchor, head: c.head } : null,
        anchor: null,
        head: null,
      };
      this.resolve(peer);
      this.peers.set(entry.client, peer);
    }
    this.emit();
  }

  /**
   * The note changed (a remote update, a local edit, a disk import):
   * resolves peers' cursors again and tells listeners if any moved.
   */
  refresh(): void {
    let moved = false;
    for (const peer of this.peers.values()) {
      const { anchor, head } = peer;
      this.resolve(peer);
      if (peer.anchor !== anchor || peer.head !== head) moved = true;
    }
    if (moved) this.emit();
  }

  onPresence(listener: (peers: Presence[]) => void): () => void {
    this.listeners.add(listener);
    listener(this.list());
    return () => this.listeners.delete(listener);
  }

  private resolve(peer: Peer): void {
    const anchor = peer.cursor ? this.offset(peer.cursor.anchor) : null;
    const head = peer.cursor ? this.offset(peer.cursor.head) : null;
    // Half a cursor is no cursor.
    const both = anchor !== null && head !== null;
    peer.anchor = both ? anchor : null;
    peer.head = both ? head : null;
  }

  /** A peer's position as a current offset; null when it cannot be placed. */
  private offset(pos: unknown): number | null {
    if (typeof pos === 'number') {
      // An older client's absolute offset: it may be stale, but stays in the text.
      return Number.isInteger(pos) && pos >= 0 ? Math.min(pos, this.note.length) : null;
    }
    if (typeof pos !== 'object' || pos === null) return null;
    try {
      return this.note.resolveSticky(pos) ?? null;
    } catch {
      return null;
    }
  }

  private list(): Presence[] {
    return [...this.peers.values()].map(({ clientId, name, color, anchor, head }) => ({ clientId, name, color, anchor, head }));
  }

  private emit(): void {
    const list = this.list();
    for (const l of this.listeners) l(list);
  }
}
