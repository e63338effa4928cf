// Three-way text merge through the CRDT itself: the base text becomes a doc,
// the two sides become edits on copies of it, and merging the copies gives a
// text holding both sides' changes exactly once. Used when a file changed on
// disk while the note also changed in the CRDT (typing, other devices): the
// disk change is replayed against the base it was made from, not the
// current text, so neither side's text is lost or duplicated.
import { WasmNote, randomClientId } from './core';

export function merge3(base: string, ours: string, theirs: string): string {
  if (theirs === base || theirs === ours) return ours;
  if (ours === base) return theirs;
  const root = new WasmNote(randomClientId());
  root.insert(0, base);
  const state = root.encodeState();
  const a = WasmNote.fromUpdate(randomClientId(), state);
  const b = WasmNote.fromUpdate(randomClientId(), state);
  a.importText(ours);
  const theirsUpdate = b.importText(theirs);
  if (theirsUpdate) a.applyRemote(theirsUpdate);
  const merged = a.text();
  root.free();
  a.free();
  b.free();
  return merged;
}

/**
 * The text a disk edit was most likely made from: of the texts this file
 * recently had (last disk text, recent CRDT versions — an editor's autosave
 * may have written any of them), the one sharing the longest prefix plus
 * suffix with the disk text. Replaying the edit from the wrong base would
 * duplicate or revert what lies between the two.
 */
export function closestBase(disk: string, candidates: (string | undefined)[], fallback: string): string {
  let best = fallback;
  let bestScore = -1;
  for (const c of candidates) {
    if (c === undefined) continue;
    const max = Math.min(c.length, disk.length);
    let p = 0;
    while (p < max && c.charCodeAt(p) === disk.charCodeAt(p)) p++;
    let s = 0;
    while (s < max - p && c.charCodeAt(c.length - 1 - s) === disk.charCodeAt(disk.length - 1 - s)) s++;
    // Later candidates are newer: ties go to the newer text.
    if (p + s >= bestScore) {
      best = c;
      bestScore = p + s;
    }
  }
  return best;
}

/** The update that brings `note` to `text` as a minimal diff, computed on a
 * throwaway copy so the note itself is left for the caller to change. */
export function importOnCopy(note: { encodeState(): Uint8Array }, text: string): Uint8Array | undefined {
  const copy = WasmNote.fromUpdate(randomClientId(), note.encodeState());
  try {
    return copy.importText(text) ?? undefined;
  } finally {
    copy.free();
  }
}
