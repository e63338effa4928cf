// Attaches a NoteSession to every editor that shows a note, and detaches it
// when the editor closes or switches to another file. Host-neutral: the host
// says which path an editor state shows and how to open a session.
//
// One compartment per editor state holds that editor's binding, so editors
// showing different notes carry different sessions under one registered
// extension.
import { ChangeSet, Compartment, StateEffect, type EditorState, type Extension } from '@codemirror/state';
import { ViewPlugin, type EditorView, type PluginValue, type ViewUpdate } from '@codemirror/view';
import type { NoteSession } from '../contract';
import { tesseraBinding, type BindingOptions } from './binding';
import { changesToEdits } from './changes';

export interface AttachOptions extends Omit<BindingOptions, 'binds'> {
  /** The vault path the editor state shows, or undefined (not a synced note). */
  pathOf(state: EditorState): string | undefined;
  /**
   * A session for `path`, or undefined when the note is not synced (ignored,
   * excluded, offline before first sync). `editorText` is what the editor
   * shows: typing not yet saved or not yet imported, which the engine merges
   * into the note instead of letting the CRDT's text overwrite it (issue 12.5).
   */
  open(path: string, editorText: string): Promise<NoteSession | undefined>;
  /**
   * Is this the editor of its note, rather than an editor nested in it? A
   * host embeds editors (a table cell, a footnote) that inherit the host
   * editor's state fields — and so its path — but show only a fragment of
   * the note; binding one would apply fragment offsets to the whole note
   * (issue 12.1). Asked once, a microtask after the editor is created, when
   * the host has finished wiring the editor up. Absent: every editor binds.
   */
  binds?(view: EditorView): boolean;
  onError?(path: string, error: unknown): void;
}

/**
 * Dispatch to an editor to try opening its note again when it has no session
 * (e.g. it was opened while sync was off, and sync just connected).
 */
export const retryAttach = StateEffect.define<null>();

/** The extension to register once for all note editors. */
export function tesseraAttacher(options: AttachOptions): Extension {
  const slot = new Compartment();
  const host = ViewPlugin.define((view) => new Attacher(view, slot, options));
  return [slot.of([]), host];
}

class Attacher implements PluginValue {
  private path: string | undefined;
  private session: NoteSession | undefined;
  /** Bumped on every path change, so a slow open for an old path is discarded. */
  private generation = 0;
  private destroyed = false;
  /** The text when the open started, and what the user typed while waiting. */
  private openedOn: string | null = null;
  private typedWhileOpening: ChangeSet | null = null;
  /** Undecided until `binds` has answered; a nested editor never binds. */
  private binds: boolean | undefined;

  constructor(
    private readonly view: EditorView,
    private readonly slot: Compartment,
    private readonly options: AttachOptions,
  ) {
    const decide = options.binds;
    if (!decide) {
      this.binds = true;
      this.follow(options.pathOf(view.state));
      return;
    }
    queueMicrotask(() => {
      if (this.destroyed) return;
      this.binds = decide(view);
      if (this.binds) this.follow(options.pathOf(view.state));
    });
  }

  update(update: ViewUpdate): void {
    if (!this.binds) return;
    if (this.typedWhileOpening && update.docChanged) {
      this.typedWhileOpening = this.typedWhileOpening.compose(update.changes);
    }
    const path = this.options.pathOf(update.state);
    if (path !== this.path && path !== undefined && this.session && !this.session.closed && this.session.shows?.(path)) {
      // A rename (here or by a collaborator): still the same note, keep its session (issue 12.4).
      this.path = path;
    } else if (path !== this.path) this.follow(path);
    // A session the engine closed (it restarted with new settings) is as good as none.
    else if (path !== undefined && (!this.session || this.session.closed) && this.openedOn === null && retried(update))
      this.follow(path);
  }

  destroy(): void {
    this.destroyed = true;
    this.generation++;
    this.session?.close();
    this.session = undefined;
  }

  private follow(path: string | undefined): void {
    const generation = ++this.generation;
    const previous = this.session;
    this.session = undefined;
    this.path = path;
    this.openedOn = null;
    this.typedWhileOpening = null;
    if (previous) {
      // The old binding already stopped forwarding (it checks pathOf per
      // transaction). Reconfiguring during an update throws, so it is removed
      // right after, and only then is its session closed.
      queueMicrotask(() => {
        if (!this.destroyed && generation === this.generation) this.view.dispatch({ effects: this.slot.reconfigure([]) });
        previous.close();
      });
    }
    if (path === undefined) return;
    this.openedOn = this.view.state.doc.toString();
    this.typedWhileOpening = ChangeSet.empty(this.openedOn.length);
    this.options.open(path, this.openedOn).then(
      (session) => this.attach(generation, session),
      (error: unknown) => {
        if (generation !== this.generation) return;
        this.openedOn = null;
        this.typedWhileOpening = null;
        this.options.onError?.(path, error);
      },
    );
  }

  private attach(generation: number, session: NoteSession | undefined): void {
    if (this.destroyed || generation !== this.generation) {
      session?.close();
      return;
    }
    const typed = this.typedWhileOpening;
    const openedOn = this.openedOn;
    this.openedOn = null;
    this.typedWhileOpening = null;
    if (!session) return;
    // Keystrokes made while the session was opening are not in the CRDT yet.
    // When the CRDT held exactly the text they were typed on, they go in as
    // local edits; the binding's attach alignment then finds nothing to do
    // instead of discarding them.
    if (typed && !typed.empty && session.text() === openedOn) {
      session.applyLocalEdits(changesToEdits(typed, this.view.state.lineBreak));
    }
    this.session = session;
    this.view.dispatch({ effects: this.slot.reconfigure(tesseraBinding(session, this.options)) });
  }
}

function retried(update: ViewUpdate): boolean {
  return update.transactions.some((tr) => tr.effects.some((e) => e.is(retryAttach)));
}
