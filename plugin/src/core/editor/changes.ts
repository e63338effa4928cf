// Pure conversions between CodeMirror change sets and the contract's edit
// and delta types. No DOM: unit-tested under Node.
import type { ChangeSet } from '@codemirror/state';
import type { DeltaOp, TextEdit } from '../contract';

/** A change in the coordinates of the document before the transaction. */
export interface ChangeRange {
  from: number;
  to: number;
  insert: string;
}

/**
 * A transaction's changes as contract edits. `iterChanges` reports each
 * replaced range in the old document's coordinates (fromA/toA) in ascending
 * order, which is exactly what `TextEdit[]` means; UTF-16 units on both sides.
 */
export function changesToEdits(changes: ChangeSet, lineSeparator = '\n'): TextEdit[] {
  const edits: TextEdit[] = [];
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    edits.push({ from: fromA, to: toA, insert: inserted.sliceString(0, inserted.length, lineSeparator) });
  });
  return edits;
}

/** Thrown when a delta does not fit the document it is applied to. */
export class DeltaMismatch extends Error {}

/**
 * A Quill-style delta as non-overlapping, ascending CodeMirror change specs in
 * the coordinates of the document before the delta. An insert and a delete at
 * one position become one replacement, so the transaction maps cursors as a
 * single edit. Throws DeltaMismatch when the delta reaches past `docLength`
 * (the editor and the CRDT disagree; the caller then resets the editor).
 */
export function deltaToChanges(delta: readonly DeltaOp[], docLength: number): ChangeRange[] {
  const out: ChangeRange[] = [];
  let pos = 0;
  let pending: ChangeRange | null = null;
  const flush = (): void => {
    if (pending && (pending.to > pending.from || pending.insert.length > 0)) out.push(pending);
    pending = null;
  };
  for (const op of delta) {
    if ('retain' in op) {
      checkCount(op.retain);
      flush();
      pos += op.retain;
    } else if ('insert' in op) {
      if (typeof op.insert !== 'string') throw new DeltaMismatch('delta insert must be a string');
      pending ??= { from: pos, to: pos, insert: '' };
      pending.insert += op.insert;
    } else if ('delete' in op) {
      checkCount(op.delete);
      pending ??= { from: pos, to: pos, insert: '' };
      pending.to += op.delete;
      pos += op.delete;
    } else {
      throw new DeltaMismatch(`unknown delta op ${JSON.stringify(op)}`);
    }
    if (pos > docLength) {
      throw new DeltaMismatch(`delta reaches offset ${pos} in a document of length ${docLength}`);
    }
  }
  flush();
  return out;
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new DeltaMismatch(`delta count must be a non-negative integer, got ${n}`);
}

/**
 * The smallest single replacement turning `from` into `to` (common prefix and
 * suffix kept), or null when equal. Used when the editor is attached to a
 * session whose text differs: replacing only the differing middle keeps the
 * cursor, folds and scroll position where the texts agree. Never splits a
 * UTF-16 surrogate pair.
 */
export function replacementBetween(from: string, to: string): ChangeRange | null {
  if (from === to) return null;
  const max = Math.min(from.length, to.length);
  let start = 0;
  while (start < max && from.charCodeAt(start) === to.charCodeAt(start)) start++;
  if (start > 0 && isHighSurrogate(from.charCodeAt(start - 1))) start--;
  let endFrom = from.length;
  let endTo = to.length;
  while (endFrom > start && endTo > start && from.charCodeAt(endFrom - 1) === to.charCodeAt(endTo - 1)) {
    endFrom--;
    endTo--;
  }
  if (endFrom < from.length && isLowSurrogate(from.charCodeAt(endFrom))) {
    endFrom++;
    endTo++;
  }
  return { from: start, to: endFrom, insert: to.slice(start, endTo) };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
