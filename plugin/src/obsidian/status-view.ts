// A side view listing pending and conflicted files, refreshed on every status change.
import { ItemView, type WorkspaceLeaf } from 'obsidian';
import { statusText } from '../core/ui/status-text';
import type { EnginePort } from '../core/port';

export const STATUS_VIEW = 'tessera-status';

export class StatusView extends ItemView {
  private off: (() => void) | undefined;

  constructor(
    leaf: WorkspaceLeaf,
    private readonly engine: () => EnginePort,
    private readonly resolve: (path: string) => void,
    private readonly decideHeld: () => void = () => {},
  ) {
    super(leaf);
  }

  getViewType(): string {
    return STATUS_VIEW;
  }

  getDisplayText(): string {
    return 'Tessera sync status';
  }

  override getIcon(): string {
    return 'refresh-cw';
  }

  override async onOpen(): Promise<void> {
    this.off = this.engine().onStatus(() => this.render());
    this.render();
  }

  override async onClose(): Promise<void> {
    this.off?.();
  }

  private render(): void {
    const engine = this.engine();
    const root = this.contentEl;
    root.empty();
    root.addClass('tessera-status-view');
    const status = statusText(engine.status());
    root.createEl('h4', { text: status.text, attr: { title: status.title } });
    // Mobile has no tooltips: the explanation is written out.
    root.createEl('p', { text: status.title.replace(/^Tessera: /, ''), cls: 'tessera-muted' });
    const held = engine.heldDeletes();
    if (held.length > 0) {
      root.createEl('h5', { text: `Missing files (${held.length})` });
      root.createEl('button', { text: 'Decide…' }).addEventListener('click', () => this.decideHeld());
    }

    const conflicts = engine.conflicts();
    root.createEl('h5', { text: `Conflicts (${conflicts.length})` });
    const cl = root.createEl('ul', { cls: 'tessera-file-list' });
    for (const c of conflicts) {
      const li = cl.createEl('li');
      li.createSpan({ text: c.path });
      li.createEl('button', { text: 'Resolve…' }).addEventListener('click', () => this.resolve(c.path));
    }
    if (conflicts.length === 0) cl.createEl('li', { text: 'None', cls: 'tessera-muted' });

    const pending = engine.pendingFiles();
    root.createEl('h5', { text: `Pending (${pending.length})` });
    const pl = root.createEl('ul', { cls: 'tessera-file-list' });
    for (const p of pending) pl.createEl('li', { text: p.detail ? `${p.path} — ${p.detail}` : p.path });
    if (pending.length === 0) pl.createEl('li', { text: 'Nothing waiting', cls: 'tessera-muted' });
  }
}
