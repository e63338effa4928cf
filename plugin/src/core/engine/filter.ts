// Selective sync: which vault paths this device takes part in syncing.
// A filtered-out file is neither sent nor written here; other devices keep
// their copies (excluding a folder on one device deletes nothing elsewhere).
//
// Under the user's choices sits the core's path policy, which no setting
// turns off: index paths come from peers and the relay, so a path that leaves
// the vault, names the config folder (any case) or `.trash`, or that Windows
// cannot hold, is never written, renamed, trashed or uploaded here.
import { pathProblem } from './core';

/** Obsidian's default config folder, when the host does not say. */
export const DEFAULT_CONFIG_DIR = '.obsidian';

/** What selective sync needs from the settings. */
export interface FilterRules {
  /** The device's config folder (`app.vault.configDir`); default `.obsidian`. */
  configDir?: string;
  /** Vault-relative globs: `*` within a name, `**` across folders, `?` one character. */
  ignoreGlobs: string[];
  /** Sync attachments (non-note files) at all. */
  syncAttachments: boolean;
  /** Largest attachment synced, in bytes. */
  maxAttachmentBytes: number;
}

export const SYNC_EVERYTHING: FilterRules = { ignoreGlobs: [], syncAttachments: true, maxAttachmentBytes: Infinity };

export class SyncFilter {
  private readonly ignored: RegExp[];

  constructor(private readonly rules: FilterRules = SYNC_EVERYTHING) {
    this.ignored = rules.ignoreGlobs.map(globToRegExp);
  }

  /** False for unsafe paths and paths under an ignore glob (notes and attachments alike). */
  pathSynced(path: string): boolean {
    return this.unsafeReason(path) === undefined && !this.ignored.some((re) => re.test(path));
  }

  /** Why the core's path policy refuses `path` on this device, or undefined when it is safe. */
  unsafeReason(path: string): string | undefined {
    return pathProblem(path, this.rules.configDir ?? DEFAULT_CONFIG_DIR);
  }

  /** An attachment of `size` bytes (undefined when unknown) at `path`. */
  attachmentSynced(path: string, size: number | undefined): boolean {
    if (!this.rules.syncAttachments || !this.pathSynced(path)) return false;
    return size === undefined || size <= this.rules.maxAttachmentBytes;
  }

  /** Why an attachment is skipped, for the log and the status view. */
  attachmentSkipReason(path: string, size: number | undefined): string | undefined {
    const unsafe = this.unsafeReason(path);
    if (unsafe) return `unsafe path: ${unsafe}`;
    if (!this.pathSynced(path)) return 'matches an ignore pattern';
    if (!this.rules.syncAttachments) return 'attachment sync is off';
    if (size !== undefined && size > this.rules.maxAttachmentBytes)
      return `larger than the ${Math.round(this.rules.maxAttachmentBytes / 1e6)} MB limit`;
    return undefined;
  }
}

/**
 * A glob as a whole-path pattern. A pattern without a slash also matches a
 * file or folder of that name at any depth (`*.pdf`, `Private`), as users
 * expect from .gitignore-style lists; a folder pattern covers its contents.
 */
export function globToRegExp(glob: string): RegExp {
  let g = glob.trim().replace(/^\/+/, '');
  const anywhere = !g.replace(/\/+$/, '').includes('/');
  g = g.replace(/\/+$/, '');
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*' && g[i + 1] === '*') {
      // `**/` matches zero or more folders; a trailing `**` everything below.
      if (g[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${anywhere ? '(?:.*/)?' : ''}${re}(?:/.*)?$`);
}
