// The status bar's model, derived from the engine's state in one place so
// every caller agrees on the priority: an error beats a conflict, which beats
// read-only, which beats offline, which beats syncing.

export type SyncStatus =
  | { kind: 'connected' }
  | { kind: 'syncing'; pending: number }
  | { kind: 'offline'; pending: number }
  | { kind: 'conflict'; count: number }
  | { kind: 'read-only'; pending: number; refused: number }
  | { kind: 'error'; reason: string };

export interface StatusInputs {
  connected: boolean;
  scope: string;
  pending: number;
  refused: number;
  conflicts: number;
  /** A refusal that is not about scope, or the last close when it was the relay saying no. */
  error: string | undefined;
}

export function deriveStatus(s: StatusInputs): SyncStatus {
  if (s.error) return { kind: 'error', reason: s.error };
  if (s.conflicts > 0) return { kind: 'conflict', count: s.conflicts };
  if (s.connected && s.scope === 'read') return { kind: 'read-only', pending: s.pending, refused: s.refused };
  if (!s.connected) return { kind: 'offline', pending: s.pending + s.refused };
  if (s.pending > 0) return { kind: 'syncing', pending: s.pending };
  return { kind: 'connected' };
}

export function statusText(s: SyncStatus): string {
  switch (s.kind) {
    case 'connected':
      return 'Connected';
    case 'syncing':
      return `Syncing (${s.pending} pending)`;
    case 'offline':
      return `Offline (${s.pending} pending)`;
    case 'conflict':
      return `Conflict (${s.count})`;
    case 'read-only':
      return s.refused > 0 ? `Read-only (${s.refused} local changes not saved)` : 'Read-only';
    case 'error':
      return `Error (${s.reason})`;
  }
}

export function sameStatus(a: SyncStatus, b: SyncStatus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
