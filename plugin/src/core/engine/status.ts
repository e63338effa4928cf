// The status bar's model, derived from the engine's state in one place. The
// wording and the ranking between states (an error beats a conflict, which
// beats everything else) live in core/ui/status-text.ts.

/** The connection state the status bar shows. */
export type SyncState = 'connected' | 'syncing' | 'offline' | 'read-only' | 'error' | 'disconnected';

export interface SyncStatus {
  state: SyncState;
  /** Local changes not yet acknowledged as durable by the relay. */
  pending: number;
  /** Files waiting for the user (binary conflicts). */
  conflicts: number;
  /** For `error` (and `read-only`): why, for a human. */
  reason?: string;
  /** Inbound work of the current round: docs the relay announced, and how many arrived. */
  receiving?: { done: number; total: number };
  /**
   * When this device last knew that every local change was durably stored on
   * the relay (each update acknowledged after the relay's store) and every
   * announced change had arrived: "safe to close". Kept while later work runs.
   */
  savedAt?: number;
  /** Missing files whose deletes wait for the user (a start-up scan saw too few files). */
  heldDeletes?: number;
}

export interface StatusInputs {
  connected: boolean;
  scope: string;
  pending: number;
  refused: number;
  conflicts: number;
  /** A refusal that is not about scope, or the last close when it was the relay saying no. */
  error: string | undefined;
  /** While offline: what the relay said when it closed the socket, if it asked the device to wait (rate limits). */
  offlineReason?: string | undefined;
  receiving?: { done: number; total: number } | undefined;
  savedAt?: number | undefined;
  heldDeletes?: number;
}

export function deriveStatus(s: StatusInputs): SyncStatus {
  const base = deriveState(s);
  const receiving = s.connected && s.receiving && s.receiving.done < s.receiving.total ? s.receiving : undefined;
  return {
    ...base,
    ...(receiving && (base.state === 'connected' || base.state === 'syncing') ? { state: 'syncing' as const, receiving } : {}),
    ...(s.savedAt !== undefined ? { savedAt: s.savedAt } : {}),
    ...(s.heldDeletes ? { heldDeletes: s.heldDeletes } : {}),
  };
}

function deriveState(s: StatusInputs): SyncStatus {
  const conflicts = s.conflicts;
  if (s.error) return { state: 'error', pending: s.pending + s.refused, conflicts, reason: s.error };
  if (s.connected && s.scope === 'read') {
    return {
      state: 'read-only',
      pending: s.pending,
      conflicts,
      ...(s.refused > 0 ? { reason: `${s.refused} local change(s) not saved` } : {}),
    };
  }
  if (!s.connected) {
    return { state: 'offline', pending: s.pending + s.refused, conflicts, ...(s.offlineReason ? { reason: s.offlineReason } : {}) };
  }
  if (s.pending > 0) return { state: 'syncing', pending: s.pending, conflicts };
  return { state: 'connected', pending: 0, conflicts };
}

export function sameStatus(a: SyncStatus, b: SyncStatus): boolean {
  return (
    a.state === b.state &&
    a.pending === b.pending &&
    a.conflicts === b.conflicts &&
    a.reason === b.reason &&
    a.receiving?.done === b.receiving?.done &&
    a.receiving?.total === b.receiving?.total &&
    a.savedAt === b.savedAt &&
    a.heldDeletes === b.heldDeletes
  );
}
