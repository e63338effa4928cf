// The CodeMirror 6 binding's public surface (no `obsidian` import here).
export { tesseraBinding, tesseraRemote, isTesseraRemote, type BindingOptions } from './binding';
export { changesToEdits, deltaToChanges, replacementBetween, DeltaMismatch, type ChangeRange } from './changes';
export { peerField, setPeers, peerMarks, safeColor, drawnPeerCount, type PeerMark } from './presence';
export { tesseraAttacher, retryAttach, type AttachOptions } from './attach';
