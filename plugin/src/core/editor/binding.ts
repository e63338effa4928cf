// The CodeMirror 6 binding: one editor ↔ one NoteSession.
//
//   local transactions  → session.applyLocalEdits (old-document coordinates)
//   session remote delta → one transaction, marked remote and kept out of the
//                          undo history (undo undoes only this device's edits;
//                          CM's history maps its entries through it)
//   selection / focus    → session.setLocalSelection
//   session presence     → peer caret and selection decorations
//
// The CRDT is the source of truth: on attach, an editor whose text differs is
// brought to session.text() by one remote-marked replacement (never by adding
// the editor's text to the CRDT, which would duplicate it).
import { Annotation, EditorState, Transaction, type Extension, type TransactionSpec } from '@codemirror/state';
import { EditorView, ViewPlugin, type PluginValue, type ViewUpdate } from '@codemirror/view';
import type { DeltaOp, NoteSession, Presence } from '../contract';
import { changesToEdits, deltaToChanges, DeltaMismatch, replacementBetween } from './changes';
import { peerField, setPeers } from './presence';

export interface BindingOptions {
  /**
   * The note path an editor state shows. When given, the binding stops for
   * good at the first transaction after which the editor shows another path
   * (a host that switches files in place must not have the new file's text
   * written into the old note).
   */
  pathOf?: (state: EditorState) => string | undefined;
  /**
   * Is this view the note's own editor? A nested editor built from the host
   * editor's state inherits this binding too (issue 12.1): it stops at once.
   */
  binds?: (view: EditorView) => boolean;
  /** Told about a delta that did not fit the editor; the editor was reset to the CRDT's text. */
  onResync?: (reason: string) => void;
}

/** Marks transactions the binding made from the CRDT; its value is the doc id. */
export const tesseraRemote = Annotation.define<string>();

/** Did this transaction come from the CRDT rather than the user? */
export function isTesseraRemote(tr: Transaction): boolean {
  return tr.annotation(tesseraRemote) !== undefined;
}

/** The extension binding an editor to `session`. One session per editor. */
export function tesseraBinding(session: NoteSession, options: BindingOptions = {}): Extension {
  const plugin = ViewPlugin.define((view) => new SessionBinding(view, session, options));
  // A read-only device's typing would never reach anyone: refuse it in the editor.
  const readOnly = session.readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : [];
  return [peerField, plugin, readOnly];
}

function showsSession(session: NoteSession, path: string | undefined): boolean {
  if (path === undefined) return false;
  return session.shows ? session.shows(path) : path === session.path;
}

/**
 * A change that leaves the editor showing exactly the CRDT's text, made on an
 * editor that did not show it before, adds nothing: the CRDT already has it.
 * This is how a second pane of the same note looks when the host copies the
 * first pane's typing (or the remote changes the first pane received) into
 * it — Obsidian does so with plain transactions — and forwarding it would
 * insert the text twice (issue 12.2). Genuine typing starts from the CRDT's
 * text, so the cheap length test settles almost every keystroke.
 */
function mirrorsSession(tr: Transaction, session: NoteSession): boolean {
  const text = session.text();
  if (tr.newDoc.length !== text.length) return false;
  return tr.newDoc.toString() === text && tr.startState.doc.toString() !== text;
}

class SessionBinding implements PluginValue {
  private readonly unsubscribe: Array<() => void> = [];
  /** Work that arrived while CodeMirror was updating (dispatching then throws). */
  private queued: Array<() => void> = [];
  private updating = false;
  private stopped = false;
  private lastSelection: string | null = null;

  constructor(
    private readonly view: EditorView,
    private readonly session: NoteSession,
    private readonly options: BindingOptions,
  ) {
    // The plugin is constructed inside an update (the view's creation, or
    // Obsidian reconfiguring open editors when an extension is registered),
    // where dispatching throws. So everything until the next microtask is
    // queued — including listeners a session calls back at once on
    // subscription — and the first alignment runs then: nothing (no input,
    // no socket message) can run in between.
    this.updating = true;
    this.queued.push(() => {
      if (this.options.binds && !this.options.binds(this.view)) return this.stop();
      this.alignWithSession('attach');
      this.reportSelection();
    });
    this.unsubscribe.push(session.onRemoteChange((delta) => this.run(() => this.applyRemote(delta))));
    this.unsubscribe.push(session.onPresence((peers) => this.run(() => this.showPeers(peers))));
    queueMicrotask(() => {
      this.updating = false;
      this.flush();
    });
  }

  update(update: ViewUpdate): void {
    if (this.stopped) return;
    if (this.options.binds && !this.options.binds(this.view)) return this.stop();
    this.updating = true;
    try {
      for (const tr of update.transactions) {
        if (this.options.pathOf && !showsSession(this.session, this.options.pathOf(tr.state))) {
          this.stop();
          return;
        }
        if (tr.docChanged && !isTesseraRemote(tr) && !mirrorsSession(tr, this.session)) {
          this.session.applyLocalEdits(changesToEdits(tr.changes, update.state.lineBreak));
        }
      }
      // A selection only mapped through a remote change is not news: the
      // engine keeps this device's cursor as a relative position, so sending
      // it again on every remote keystroke would only add awareness traffic.
      const movedHere = update.transactions.some((tr) => !isTesseraRemote(tr) && (tr.selection !== undefined || tr.docChanged));
      if (movedHere || update.focusChanged) this.reportSelection();
    } finally {
      this.updating = false;
    }
    if (this.queued.length > 0) queueMicrotask(() => this.flush());
  }

  destroy(): void {
    if (!this.stopped) this.session.setLocalSelection(null);
    this.stop();
  }

  /** Detaches from the session for good; the editor keeps its text. */
  private stop(): void {
    this.stopped = true;
    this.queued = [];
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private run(work: () => void): void {
    if (this.stopped) return;
    if (this.updating) this.queued.push(work);
    else work();
  }

  private flush(): void {
    if (this.updating || this.stopped) return;
    const work = this.queued.splice(0);
    for (const item of work) item();
  }

  private applyRemote(delta: DeltaOp[]): void {
    let changes;
    try {
      changes = deltaToChanges(delta, this.view.state.doc.length);
    } catch (error) {
      if (!(error instanceof DeltaMismatch)) throw error;
      this.alignWithSession(error.message);
      return;
    }
    if (changes.length === 0) return;
    this.view.dispatch(this.remoteSpec({ changes }));
    // A delta that applied cleanly still leaves the editor wrong if the two
    // had drifted apart earlier; check, because a wrong editor is silent.
    if (this.view.state.doc.length !== this.session.text().length) this.alignWithSession('length differs after delta');
  }

  /** Makes the editor show exactly the CRDT's text. */
  private alignWithSession(reason: string): void {
    const replacement = replacementBetween(this.view.state.doc.toString(), this.session.text());
    if (!replacement) return;
    this.view.dispatch(this.remoteSpec({ changes: replacement }));
    if (reason !== 'attach') this.options.onResync?.(reason);
  }

  private remoteSpec(spec: TransactionSpec): TransactionSpec {
    return {
      ...spec,
      annotations: [
        tesseraRemote.of(this.session.docId),
        Transaction.remote.of(true),
        Transaction.addToHistory.of(false),
      ],
    };
  }

  private showPeers(peers: Presence[]): void {
    this.view.dispatch({ effects: setPeers.of(peers) });
  }

  /** Sends this device's selection when it changed; null without focus. */
  private reportSelection(): void {
    const main = this.view.state.selection.main;
    const selection = this.view.hasFocus ? { anchor: main.anchor, head: main.head } : null;
    const key = selection ? `${selection.anchor}:${selection.head}` : 'none';
    if (key === this.lastSelection) return;
    this.lastSelection = key;
    this.session.setLocalSelection(selection);
  }
}
