// Obsidian's Events (obsidian.d.ts `class Events`: on, off, offref, trigger).
export interface EventRef {
  name: string;
  fn: (...args: unknown[]) => unknown;
}

export class Events {
  private readonly handlers = new Map<string, EventRef[]>();

  on(name: string, fn: (...args: never[]) => unknown): EventRef {
    const ref = { name, fn: fn as (...args: unknown[]) => unknown };
    this.handlers.set(name, [...(this.handlers.get(name) ?? []), ref]);
    return ref;
  }

  offref(ref: EventRef): void {
    this.handlers.set(ref.name, (this.handlers.get(ref.name) ?? []).filter((r) => r !== ref));
  }

  trigger(name: string, ...args: unknown[]): void {
    for (const ref of this.handlers.get(name) ?? []) {
      try {
        ref.fn(...args);
      } catch (e) {
        // Obsidian logs a throwing handler and goes on to the next one.
        console.error(`event ${name}:`, e);
      }
    }
  }
}
