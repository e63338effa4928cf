// A long operation with a Notice that shows its progress and stays until it ends.
import { Notice } from 'obsidian';
import { progressText } from '../core/ui/status-text';
import type { Progress } from '../core/port';

export async function withProgress(verb: string, run: (onProgress: (p: Progress) => void) => Promise<void>): Promise<void> {
  const notice = new Notice(progressText(verb, { done: 0, total: 0 }), 0);
  try {
    await run((p) => notice.setMessage(progressText(verb, p)));
    notice.setMessage(`Tessera: ${verb} finished`);
  } catch (e) {
    notice.setMessage(`Tessera: ${verb} failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    window.setTimeout(() => notice.hide(), 4000);
  }
}
