// What the status bar says for an engine status. Host-neutral.

export interface StatusLike {
  state: 'connected' | 'syncing' | 'offline' | 'read-only' | 'error' | 'disconnected';
  pending: number;
  conflicts: number;
  reason?: string;
  receiving?: { done: number; total: number };
  savedAt?: number;
  heldDeletes?: number;
}

export interface StatusText {
  text: string;
  /** Longer explanation for the tooltip. */
  title: string;
  /** CSS modifier: tessera-status-<tone>. */
  tone: 'ok' | 'busy' | 'warn' | 'error';
}

/**
 * Conflicts outrank everything but errors: they wait for the user, while
 * pending changes and offline periods resolve themselves.
 */
export function statusText(status: StatusLike): StatusText {
  const pending = status.pending > 0 ? ` (${status.pending} pending)` : '';
  const last = status.savedAt !== undefined ? ` · last synced ${clockTime(status.savedAt)}` : '';
  if (status.state === 'error') {
    const reason = status.reason?.trim() || 'unknown';
    return { text: `Error (${reason})`, title: `Tessera: sync stopped: ${reason}`, tone: 'error' };
  }
  if (status.heldDeletes) {
    return {
      text: `Deletes held (${status.heldDeletes})`,
      title: `Tessera: ${status.heldDeletes} synced file(s) are missing on this device; their deletes wait for you — click to decide`,
      tone: 'warn',
    };
  }
  if (status.conflicts > 0) {
    return {
      text: `Conflict (${status.conflicts})`,
      title: `Tessera: ${status.conflicts} file(s) need a decision — click to resolve`,
      tone: 'warn',
    };
  }
  switch (status.state) {
    case 'read-only':
      return {
        text: 'Read-only',
        title: `Tessera: this device's token can only read${status.reason ? ` (${status.reason})` : ''}; local edits are not sent`,
        tone: 'warn',
      };
    case 'offline':
      return {
        text: `Offline${pending}`,
        title: `Tessera: not connected${status.reason ? ` (${status.reason})` : ''}; changes are kept and sent on reconnect${last}`,
        tone: 'warn',
      };
    case 'disconnected':
      return { text: `Disconnected${pending}`, title: 'Tessera: sync is switched off in the settings', tone: 'warn' };
    case 'syncing':
    case 'connected': {
      const r = status.receiving;
      if (r && r.done < r.total) {
        return { text: `Receiving ${r.done} of ${r.total}${pending}`, title: `Tessera: receiving changes from the relay${last}`, tone: 'busy' };
      }
      if (status.pending > 0 || status.state === 'syncing') {
        return { text: `Syncing${pending}`, title: `Tessera: waiting for the relay to store changes; do not close yet${last}`, tone: 'busy' };
      }
      // Only the relay's durable acks make this true: every update was
      // acknowledged after the relay stored it, and nothing is waiting.
      if (status.savedAt !== undefined) {
        return {
          text: `All changes saved · ${clockTime(status.savedAt)}`,
          title: `Tessera: all changes saved to the relay${last}; safe to close`,
          tone: 'ok',
        };
      }
      return { text: 'Connected', title: 'Tessera: connected; checking for changes', tone: 'ok' };
    }
  }
}

/** "Uploading 12 / 40 — notes/a.md" for a progress notice. */
export function progressText(verb: string, p: { done: number; total: number; path?: string }): string {
  const total = Math.max(p.total, p.done);
  const percent = total > 0 ? Math.floor((p.done / total) * 100) : 100;
  return `Tessera: ${verb} ${p.done} / ${total} (${percent}%)${p.path ? ` — ${p.path}` : ''}`;
}

/** 24-hour local "HH:MM", independent of the locale. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}
