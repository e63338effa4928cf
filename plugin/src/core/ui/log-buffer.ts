// The last N log lines, kept for "Copy diagnostics" and the settings tab.
// Host-neutral; the level filter lives here so every host filters alike.

export type Level = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export class LogBuffer {
  private readonly lines: string[] = [];

  constructor(
    private level: Level = 'info',
    private readonly capacity = 500,
    private readonly now: () => number = Date.now,
  ) {}

  setLevel(level: Level): void {
    this.level = level;
  }

  write(level: Level, message: string): void {
    if (RANK[level] > RANK[this.level]) return;
    this.lines.push(`${new Date(this.now()).toISOString()} ${level.toUpperCase()} ${message}`);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  recent(): string[] {
    return [...this.lines];
  }
}
