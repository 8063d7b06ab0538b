import { ArchiveError, TooManyEntriesError } from './errors.js';

/** What the checker needs of one tar entry (a subset of tar's ReadEntry, so it is testable without tar). */
export interface EntryHeader {
  path: string;
  type: string;
  size: number;
  linkpath?: string | undefined;
}

export interface ArchiveLimits {
  /**
   * Most entries one archive may hold, directories included (default 50,000): more is refused at upload with a
   * 413, before anything is stored. Each entry costs a file-system call or more at extraction.
   */
  maxEntries?: number;
  /** Most bytes its files may unpack to, summed from the entry headers (default 4 GiB). */
  maxUnpackedBytes?: number;
}

export interface ArchiveSummary {
  entries: number;
  unpackedBytes: number;
}

export const DEFAULT_MAX_ENTRIES = 50_000;
const DEFAULT_MAX_UNPACKED_BYTES = 4 * 1024 ** 3;
/** As the kernel's ELOOP limit: a longer chain of symlinks is a loop, or as good as one. */
const MAX_SYMLINK_HOPS = 40;

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

type Kind = 'directory' | 'file' | 'symlink';

/**
 * Decides, from the headers alone and before anything is written, whether every entry of an archive stays
 * inside the directory it is extracted into. Feed it every entry in archive order with `add`, then call
 * `finish`; the first problem throws an ArchiveError naming the entry.
 *
 * Allowed: regular files, directories, hard links to a regular file earlier in the archive, and symlinks whose
 * target, followed through the archive's other symlinks, stays inside. Refused: absolute paths, `..` segments,
 * anything written through a symlink, a path used for two kinds of entry, and every other entry type
 * (devices, FIFOs, …). The extraction directory is assumed empty, so the archive is the whole world: a
 * symlink can only be followed through symlinks the archive itself creates.
 */
export class ArchiveEntryChecker {
  private readonly kinds = new Map<string, Kind>();
  private readonly symlinks = new Map<string, { entry: string; target: string }>();
  private readonly maxEntries: number;
  private readonly maxUnpackedBytes: number;
  private entries = 0;
  private unpackedBytes = 0;

  constructor(limits: ArchiveLimits = {}) {
    this.maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxUnpackedBytes = limits.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  }

  add(entry: EntryHeader): void {
    const name = entry.path;
    if (++this.entries > this.maxEntries) throw new TooManyEntriesError(this.maxEntries);
    const segments = relativeSegments(name, 'path', name);
    if (segments.length === 0) {
      if (entry.type === 'Directory') return; // `./`, the root itself
      throw new ArchiveError(`Archive entry ${quote(name)} has an empty path.`, name);
    }
    const kind = kindOf(entry);
    if (kind === 'file') {
      this.unpackedBytes += entry.size;
      if (this.unpackedBytes > this.maxUnpackedBytes) {
        throw new ArchiveError(`Archive unpacks to more than ${this.maxUnpackedBytes} bytes (at entry ${quote(name)}).`, name);
      }
    }
    this.claimParents(name, segments);
    const path = segments.join('/');
    if (entry.type === 'Link') this.checkHardLink(name, path, entry.linkpath);
    if (entry.type === 'SymbolicLink') {
      const target = linkTarget(name, entry.linkpath);
      if (target.startsWith('/')) {
        throw new ArchiveError(`Archive entry ${quote(name)} is a symlink to the absolute path ${quote(target)}; symlinks must point inside the archive.`, name);
      }
      this.symlinks.set(path, { entry: name, target });
    }
    const previous = this.kinds.get(path);
    if (previous !== undefined && (previous !== kind || kind === 'symlink')) {
      throw new ArchiveError(`Archive entry ${quote(name)} appears twice, as a ${previous} and as a ${kind}.`, name);
    }
    this.kinds.set(path, kind);
  }

  /** Checks what only the whole archive can tell: where each symlink finally points. */
  finish(): ArchiveSummary {
    for (const [path, { entry, target }] of this.symlinks) {
      const outcome = this.resolve(parentOf(path), target);
      if (outcome === 'escapes') {
        throw new ArchiveError(`Archive entry ${quote(entry)} is a symlink to ${quote(target)}, which points outside the archive.`, entry);
      }
      if (outcome === 'loops') {
        throw new ArchiveError(`Archive entry ${quote(entry)} is a symlink to ${quote(target)}, which never resolves (a loop of symlinks).`, entry);
      }
    }
    return { entries: this.entries, unpackedBytes: this.unpackedBytes };
  }

  /** Every ancestor of an entry becomes a directory; none may be a file or a symlink. */
  private claimParents(name: string, segments: string[]): void {
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      const kind = this.kinds.get(parent);
      if (kind === 'symlink') {
        throw new ArchiveError(`Archive entry ${quote(name)} lies inside ${quote(parent)}, which is a symlink; entries may not be written through symlinks.`, name);
      }
      if (kind === 'file') throw new ArchiveError(`Archive entry ${quote(name)} lies inside ${quote(parent)}, which is a file.`, name);
      if (kind === undefined) this.kinds.set(parent, 'directory');
    }
  }

  /** tar creates a hard link by linking the path named (relative to the root) when the entry is reached. */
  private checkHardLink(name: string, path: string, linkpath: string | undefined): void {
    const target = linkTarget(name, linkpath);
    const targetPath = relativeSegments(target, 'hard-link target', name).join('/');
    if (targetPath === path || this.kinds.get(targetPath) !== 'file') {
      throw new ArchiveError(`Archive entry ${quote(name)} is a hard link to ${quote(target)}, which is not a regular file earlier in the archive.`, name);
    }
  }

  /**
   * Walks `target` from the directory `from` (segments below the root), following the archive's symlinks as
   * the kernel would. Paths the archive does not create are treated as directories, which only ever lets the
   * walk go deeper, never out.
   */
  private resolve(from: string[], target: string): 'inside' | 'escapes' | 'loops' {
    if (target.startsWith('/')) return 'escapes';
    const stack = [...from];
    const pending = target.split('/');
    let hops = 0;
    while (pending.length > 0) {
      const segment = pending.shift()!;
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (stack.length === 0) return 'escapes';
        stack.pop();
        continue;
      }
      stack.push(segment);
      const link = this.symlinks.get(stack.join('/'));
      if (link === undefined) continue;
      if (++hops > MAX_SYMLINK_HOPS) return 'loops';
      if (link.target.startsWith('/')) return 'escapes';
      stack.pop();
      pending.unshift(...link.target.split('/'));
    }
    return 'inside';
  }
}

function kindOf(entry: EntryHeader): Kind {
  if (entry.type === 'Directory') return 'directory';
  if (entry.type === 'SymbolicLink') return 'symlink';
  if (FILE_TYPES.has(entry.type) || entry.type === 'Link') return 'file';
  throw new ArchiveError(`Archive entry ${quote(entry.path)} is a ${entry.type}; only files, directories and symlinks are allowed.`, entry.path);
}

/** The path's segments below the root, `.` and empty ones dropped; refuses absolute paths and `..`. */
function relativeSegments(path: string, what: string, name: string): string[] {
  if (path.includes('\0')) throw new ArchiveError(`Archive entry ${quote(name)} has a NUL byte in its ${what}.`, name);
  if (path.startsWith('/')) {
    throw new ArchiveError(`Archive entry ${quote(name)} has an absolute ${what} ${quote(path)}; entries must be relative to the archive root.`, name);
  }
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new ArchiveError(`Archive entry ${quote(name)} has a ".." segment in its ${what} ${quote(path)}; entries must stay inside the archive root.`, name);
  }
  return segments;
}

function linkTarget(name: string, linkpath: string | undefined): string {
  if (linkpath === undefined || linkpath === '') throw new ArchiveError(`Archive entry ${quote(name)} is a link without a target.`, name);
  if (linkpath.includes('\0')) throw new ArchiveError(`Archive entry ${quote(name)} has a NUL byte in its link target.`, name);
  return linkpath;
}

function parentOf(path: string): string[] {
  return path.split('/').slice(0, -1);
}

function quote(text: string): string {
  return JSON.stringify(text);
}
