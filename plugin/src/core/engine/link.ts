// One socket per vault, reopened after every close with exponential backoff
// and jitter (so a relay restart is not met by every device at the same
// instant). Knows nothing about the protocol: frames in, frames out.
import type { Clock, Connection, Logger, Timer, Transport } from './ports';

export interface LinkHandlers {
  onUp(): void;
  onFrame(frame: Uint8Array): void;
  /** `opened`: false when the socket never opened (refused or unreachable). */
  onDown(code: number, reason: string, opened: boolean): void;
}

const BASE_MS = 500;
const MAX_MS = 30_000;
/** Close codes after which retrying soon cannot help (token refused). */
const AUTH_CODES = new Set([4401, 4403]);

export class Link {
  private conn: Connection | undefined;
  private up = false;
  private attempt = 0;
  private timer: Timer | undefined;
  private stopped = true;

  constructor(
    private readonly transport: Transport,
    private readonly url: () => string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly handlers: LinkHandlers,
    private readonly random: () => number = Math.random,
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

  send(frame: Uint8Array): boolean {
    if (!this.up || !this.conn) return false;
    this.conn.send(frame);
    return true;
  }

  private open(): void {
    this.timer = undefined;
    if (this.stopped) return;
    let conn: Connection | undefined;
    conn = this.transport.open(this.url(), {
      onOpen: () => {
        if (this.conn !== conn) return;
        this.up = true;
        this.attempt = 0;
        this.handlers.onUp();
      },
      onMessage: (frame) => {
        if (this.conn === conn) this.handlers.onFrame(frame);
      },
      onClose: (code, reason) => {
        if (this.conn !== conn) return;
        const wasUp = this.up;
        this.conn = undefined;
        this.up = false;
        (wasUp && code !== 1000 ? this.log.warn : this.log.info)(`socket closed (${code}${reason ? ': ' + reason : ''})`);
        if (wasUp || code !== 1006) this.handlers.onDown(code, reason, wasUp);
        else this.handlers.onDown(code, reason || 'relay unreachable', false);
        this.schedule(AUTH_CODES.has(code));
      },
    });
    this.conn = conn;
  }

  private schedule(slow: boolean): void {
    if (this.stopped) return;
    const exp = slow ? MAX_MS : Math.min(MAX_MS, BASE_MS * 2 ** this.attempt);
    this.attempt++;
    // Full jitter in [exp/2, exp): spreads reconnecting devices apart.
    const delay = exp / 2 + this.random() * (exp / 2);
    this.timer = this.clock.setTimeout(() => this.open(), delay);
  }
}
