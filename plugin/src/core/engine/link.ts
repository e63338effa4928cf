// One socket per vault, reopened after every close with exponential backoff
// and jitter (so a relay restart is not met by every device at the same
// instant). Knows nothing about the protocol: frames in, frames out.
import type { Clock, Connection, Logger, Timer, Transport } from './ports';

/** Where a socket goes: the URL (no credentials) and the subprotocols to offer. */
export interface SocketTarget {
  url: string;
  protocols: string[];
}

export interface LinkHandlers {
  onUp(): void;
  onFrame(frame: Uint8Array): void;
  /** `opened`: false when the socket never opened (refused or unreachable). */
  onDown(code: number, reason: string, opened: boolean): void;
  /** Send something the relay answers (the watchdog heard nothing for a while). */
  probe?(): void;
}

/**
 * A socket can die without a close event (a phone that slept, a NAT that
 * forgot the flow, Wi-Fi to cellular): it then shows "Connected" for minutes.
 * The engine hears from the relay at least every renewal period (its change
 * poll is answered), so silence this long means the socket is dead.
 */
export const SILENT_MS = 45_000;
/** After a wake-up (app visible again, network back) the relay must answer this soon. */
export const WAKE_MS = 5_000;

const BASE_MS = 500;
const MAX_MS = 30_000;
/** Close codes after which retrying soon cannot help (token refused). */
const AUTH_CODES = new Set([4401, 4403]);
/** The relay's rate-limit close (its reason ends in `retry after N s`). */
export const RATE_LIMITED = 4429;
/** The longest wait a relay's `retry after` may impose (a hostile relay cannot park the device). */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * The wait a close asks for: `retry after N s` in a 4429 reason (the relay's
 * rate limits, like HTTP's Retry-After), capped; 0 when it asks for none.
 */
export function retryAfterMs(code: number, reason: string): number {
  if (code !== RATE_LIMITED) return 0;
  const m = /retry after (\d{1,6}) s/.exec(reason);
  if (!m) return 0;
  return Math.min(MAX_RETRY_AFTER_MS, Number(m[1]) * 1000);
}

export class Link {
  private conn: Connection | undefined;
  private up = false;
  private attempt = 0;
  private timer: Timer | undefined;
  private stopped = true;
  private heardAt = 0;
  private watch: Timer | undefined;
  /** The time by which the relay must have spoken since `probedAt`, or the socket is dropped. */
  private deadline: number | undefined;
  private probedAt = 0;

  constructor(
    private readonly transport: Transport,
    private readonly target: () => SocketTarget,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly handlers: LinkHandlers,
    private readonly random: () => number = Math.random,
    private readonly silentMs: number = SILENT_MS,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    this.stopped = false;
    if (!this.conn && !this.timer) this.open();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    this.watch = undefined;
    this.timer?.cancel();
    this.timer = undefined;
    const c = this.conn;
    this.conn = undefined;
    if (c) {
      c.close(1000, 'closed by the plugin');
      if (this.up) {
        this.up = false;
        this.handlers.onDown(1000, 'closed by the plugin', true);
      }
    }
  }

  /** Drops the socket and dials again at once. */
  reconnect(): void {
    this.stop();
    this.attempt = 0;
    this.start();
  }

  /**
   * The app came back (visible again, network online): dial at once when
   * down; when up, probe and drop the socket unless the relay answers soon.
   */
  wake(): void {
    if (this.stopped) return;
    if (!this.conn) {
      this.timer?.cancel();
      this.attempt = 0;
      this.open();
      return;
    }
    if (this.up) this.probe(Math.min(WAKE_MS, this.silentMs));
  }

  send(frame: Uint8Array): boolean {
    if (!this.up || !this.conn) return false;
    this.conn.send(frame);
    return true;
  }

  private open(): void {
    this.timer = undefined;
    if (this.stopped) return;
    let conn: Connection | undefined;
    const { url, protocols } = this.target();
    conn = this.transport.open(url, {
      onOpen: () => {
        if (this.conn !== conn) return;
        this.up = true;
        this.attempt = 0;
        this.heard();
        this.watchdog();
        this.handlers.onUp();
      },
      onMessage: (frame) => {
        if (this.conn !== conn) return;
        this.heard();
        this.handlers.onFrame(frame);
      },
      onClose: (code, reason) => {
        if (this.conn !== conn) return;
        this.watch?.cancel();
        this.watch = undefined;
        const wasUp = this.up;
        this.conn = undefined;
        this.up = false;
        (wasUp && code !== 1000 ? this.log.warn : this.log.info)(`socket closed (${code}${reason ? ': ' + reason : ''})`);
        if (wasUp || code !== 1006) this.handlers.onDown(code, reason, wasUp);
        else this.handlers.onDown(code, reason || 'relay unreachable', false);
        this.schedule(AUTH_CODES.has(code), retryAfterMs(code, reason));
      },
    }, protocols);
    this.conn = conn;
  }

  private heard(): void {
    this.heardAt = this.clock.now();
    this.deadline = undefined;
  }

  private probe(within: number): void {
    this.probedAt = this.clock.now();
    this.deadline = this.probedAt + within;
    this.handlers.probe?.();
    this.watchdog(within);
  }

  /** Checks for silence; half the limit without a frame sends a probe, the whole limit (or a missed probe) drops the socket. */
  private watchdog(next = this.silentMs / 2): void {
    this.watch?.cancel();
    this.watch = this.clock.setTimeout(() => {
      this.watch = undefined;
      if (!this.up || !this.conn) return;
      const now = this.clock.now();
      if ((this.deadline !== undefined && now >= this.deadline) || now - this.heardAt >= this.silentMs) return this.dropSilent();
      if (this.deadline === undefined && now - this.heardAt >= this.silentMs / 2) return this.probe(this.silentMs / 2);
      this.watchdog(this.deadline !== undefined ? this.deadline - now : this.silentMs / 2);
    }, Math.max(1, next));
  }

  /** A dead socket may never report its close: close it ourselves and dial again. */
  private dropSilent(): void {
    const c = this.conn;
    this.conn = undefined;
    this.up = false;
    this.deadline = undefined;
    this.log.warn('no answer from the relay: dropping the socket and reconnecting');
    try {
      c?.close(4000, 'no answer from the relay');
    } catch {
      // already gone
    }
    this.handlers.onDown(1006, 'no answer from the relay', true);
    this.attempt = 0;
    this.schedule(false);
  }

  private schedule(slow: boolean, atLeastMs = 0): void {
    if (this.stopped) return;
    const exp = slow ? MAX_MS : Math.min(MAX_MS, BASE_MS * 2 ** this.attempt);
    this.attempt++;
    // Full jitter in [exp/2, exp): spreads reconnecting devices apart. A
    // relay that said when to come back is not asked before then.
    const delay = atLeastMs + exp / 2 + this.random() * (exp / 2);
    this.timer = this.clock.setTimeout(() => this.open(), delay);
  }
}
