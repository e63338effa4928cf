// What the status bar says for an engine status. Host-neutral.

export interface StatusLike {
  state: 'connected' | 'syncing' | 'offline' | 'read-only' | 'error' | 'disconnected';
  pending: number;
  conflicts: number;
  reason?: string;
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
  if (status.state === 'error') {
    const reason = status.reason?.trim() || 'unknown';
    return { text: `Error (${reason})`, title: `Tessera: sync stopped: ${reason}`, tone: 'error' };
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
      return { text: `Offline${pending}`, title: 'Tessera: not connected; changes are kept and sent on reconnect', tone: 'warn' };
    case 'disconnected':
      return { text: `Disconnected${pending}`, title: 'Tessera: sync is switched off in the settings', tone: 'warn' };
    case 'syncing':
      return { text: `Syncing${pending}`, title: 'Tessera: sending and receiving changes', tone: 'busy' };
    case 'connected':
      return status.pending > 0
        ? { text: `Syncing${pending}`, title: 'Tessera: waiting for the relay to store changes', tone: 'busy' }
        : { text: 'Connected', title: 'Tessera: every change is stored on the relay', tone: 'ok' };
  }
}

/** "Uploading 12 / 40 — notes/a.md" for a progress notice. */
export function progressText(verb: string, p: { done: number; total: number; path?: string }): string {
  const total = Math.max(p.total, p.done);
  const percent = total > 0 ? Math.floor((p.done / total) * 100) : 100;
  return `Tessera: ${verb} ${p.done} / ${total} (${percent}%)${p.path ? ` — ${p.path}` : ''}`;
}
