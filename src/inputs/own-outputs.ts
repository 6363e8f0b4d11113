/**
 * Files this process is writing are never inputs. `devloop dev -o json > events.json` inside the
 * context would otherwise rebuild on every event it writes (and write events about that rebuild).
 * Its own state lives in `.devloop/` (always ignored); what is left is stdout/stderr redirected
 * to a regular file. Known by identity (device + inode, so hard links and symlinked folders match
 * too) and, on Linux, by path (`/proc/self/fd/N`), found once per process.
 */
import { fstatSync, lstatSync, readlinkSync } from 'node:fs';

interface OwnFile {
  dev: number;
  ino: number;
  path?: string;
}

let own: OwnFile[] | undefined;

function describeFd(fd: number): OwnFile | undefined {
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined; // a terminal, a pipe, /dev/null: nothing to exclude
    let path: string | undefined;
    try {
      path = readlinkSync(`/proc/self/fd/${fd}`);
      if (path.endsWith(' (deleted)')) path = undefined;
    } catch {
      path = undefined; // no /proc (macOS): the inode alone identifies it
    }
    return { dev: st.dev, ino: st.ino, path };
  } catch {
    return undefined; // closed fd
  }
}

function ownFiles(): OwnFile[] {
  if (!own) {
    own = [];
    for (const fd of [1, 2]) {
      const file = describeFd(fd);
      if (file && !own.some((o) => o.dev === file.dev && o.ino === file.ino)) own.push(file);
    }
  }
  return own;
}

/**
 * Whether the file at `absPath` is one this process writes. `stats` (an lstat the caller already
 * has) saves the lookup; without it, a path compare, and an lstat only when an identity is all we know.
 */
export function isOwnOutput(absPath: string, stats?: { dev: number; ino: number }): boolean {
  const files = ownFiles();
  if (files.length === 0) return false;
  if (files.some((f) => f.path === absPath)) return true;
  const st = stats ?? lstatSync(absPath, { throwIfNoEntry: false });
  return st !== undefined && files.some((f) => f.dev === st.dev && f.ino === st.ino);
}
