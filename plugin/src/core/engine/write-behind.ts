// Coalesced writes of whole-state records (doc states, the meta record).
// Each write costs O(record), and a record like the index grows with the
// vault: writing it per change makes importing a 10k-note vault quadratic.
// So writes run at most once per period, always after the latest request.
// Nothing durable depends on the period: every unacknowledged update is in
// the outbox, written per update, and reapplied on start.
import type { Clock, Timer } from './ports';

export class WriteBehind {
  private timer: Timer | undefined;
  private waiting: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private last = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    private readonly write: () => Promise<void>,
  ) {}

  /** Resolves once a write that started after this call has finished. */
  request(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.timer) return;
      const wait = Math.max(0, this.last + this.periodMs - this.clock.now());
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        void this.run().catch(() => {});
      }, wait);
    });
  }

  /** Writes now (after a write in progress); for shutdown. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    return this.run();
  }

  private run(): Promise<void> {
    const waiting = this.waiting.splice(0);
    const next = this.chain
      .catch(() => {})
      .then(async () => {
        this.last = this.clock.now();
        await this.write();
      })
      .finally(() => waiting.forEach((w) => w()));
    this.chain = next;
    return next;
  }
}
