// A read-only device's editor refuses typing (its edits could never sync).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EditorState } from '@codemirror/state';
import { tesseraBinding } from '../../src/core/editor/binding.ts';
import type { NoteSession } from '../../src/core/contract.ts';

function session(readOnly: boolean): NoteSession {
  return {
    docId: 'd',
    path: 'n.md',
    readOnly,
    text: () => 'text',
    applyLocalEdits: () => {},
    onRemoteChange: () => () => {},
    setLocalSelection: () => {},
    onPresence: () => () => {},
    close: () => {},
  };
}

test('an editor bound to a read-only session is read-only', () => {
  const state = EditorState.create({ doc: 'text', extensions: tesseraBinding(session(true)) });
  assert.equal(state.readOnly, true);
});

test('an editor bound to a writable session stays editable', () => {
  const state = EditorState.create({ doc: 'text', extensions: tesseraBinding(session(false)) });
  assert.equal(state.readOnly, false);
});
