// Registers the editor binding for every Markdown editor.
//
// How an editor finds its note: `editorInfoField` (exported by `obsidian`) is
// a StateField on every Markdown editor state holding its MarkdownFileInfo,
// whose `file` is the TFile shown. The attacher (src/core/editor/attach.ts)
// is a ViewPlugin, so CodeMirror hands it the EditorView directly.
//
// Getting the EditorView from a MarkdownView, outside an extension: Obsidian
// does not type it, but `view.editor` wraps CodeMirror 6 and keeps the
// EditorView in its `cm` property. `editorViewOf` is the one place that
// relies on this, checked at run time so a change in Obsidian degrades to
// "no retry" instead of an exception.
import { editorInfoField, MarkdownView, type Plugin } from 'obsidian';
import type { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { retryAttach, tesseraAttacher } from '../core/editor';
import type { EnginePort } from '../core/port';

export function registerBinding(plugin: Plugin, engine: () => EnginePort, log: (line: string) => void): void {
  plugin.registerEditorExtension(
    tesseraAttacher({
      pathOf: notePathOf,
      open: (path, editorText) => engine().openNote(path, editorText),
      binds: isNoteEditor,
      onResync: (reason) => log(`editor re-aligned with the CRDT: ${reason}`),
      onError: (path, error) => log(`could not open ${path} for sync: ${error instanceof Error ? error.message : String(error)}`),
    }),
  );
}

/** The synced note an editor state shows: Markdown files only. */
function notePathOf(state: EditorState): string | undefined {
  const file = state.field(editorInfoField, false)?.file;
  return file && file.extension === 'md' ? file.path : undefined;
}

/**
 * Only the editor a MarkdownFileInfo owns binds. Obsidian builds nested
 * EditorViews (a Live Preview table cell, footnote editors) from the host
 * editor's state, so they inherit `editorInfoField` — the host's info, whose
 * `editor` wraps the host's EditorView, not theirs. A hover popover or a
 * second pane has its own info and editor and binds with its own handle.
 * (`editor?: Editor` on MarkdownFileInfo, obsidian.d.ts; `cm` as above.)
 */
function isNoteEditor(view: EditorView): boolean {
  const editor = view.state.field(editorInfoField, false)?.editor;
  const cm: unknown = (editor as unknown as { cm?: unknown } | undefined)?.cm;
  return cm === view;
}

/** Asks every open Markdown editor without a session to open its note again. */
export function retryOpenEditors(plugin: Plugin): void {
  plugin.app.workspace.iterateAllLeaves((leaf) => {
    if (leaf.view instanceof MarkdownView) editorViewOf(leaf.view)?.dispatch({ effects: retryAttach.of(null) });
  });
}

/** The CodeMirror 6 EditorView behind a MarkdownView (see the top of this file). */
export function editorViewOf(view: MarkdownView): EditorView | undefined {
  const cm: unknown = (view.editor as unknown as { cm?: unknown }).cm;
  return cm instanceof EditorView ? cm : undefined;
}
