// Awareness for one open note: this device's cursor out, other devices'
// cursors in. Positions are absolute UTF-16 offsets, so a peer's cursor may
// drift by the length of a concurrent edit before its next update (at most
// one renewal period); relative (sticky) positions would need new core
// bindings and are not done yet.
import { decodeAwarenessUpdate, encodeAwarenessFrame, encodeAwarenessUpdate } from './core';
import type { Presence } from '../contract';

export interface PresenceIdentity {
  name: string;
  color: string;
}

interface AwarenessStateJson {
  user?: { name?: unknown; color?: unknown };
  cursor?: { anchor?: unknown; head?: unknown } | null;
}

export class PresenceChannel {
  private clock = 0;
  private selection: { anchor: number; head: number } | null = null;
  private readonly peers = new Map<number, Presence>();
  private readonly listeners = new Set<(peers: Presence[]) => void>();

  constructor(
    private readonly docId: string,
    private readonly clientId: number,
    private readonly identity: () => PresenceIdentity,
    private readonly send: (frame: Uint8Array) => void,
  ) {}

  setSelection(selection: { anchor: number; head: number } | null): void {
    this.selection = selection;
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
      if (!s) {
        this.peers.delete(entry.client);
        continue;
      }
      const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
      this.peers.set(entry.client, {
        clientId: entry.client,
        name: typeof s.user?.name === 'string' ? s.user.name : 'device',
        color: typeof s.user?.color === 'string' ? s.user.color : '#888888',
        anchor: num(s.cursor?.anchor),
        head: num(s.cursor?.head),
      });
    }
    const list = [...this.peers.values()];
    for (const l of this.listeners) l(list);
  }

  onPresence(listener: (peers: Presence[]) => void): () => void {
    this.listeners.add(listener);
    listener([...this.peers.values()]);
    return () => this.listeners.delete(listener);
  }
}
