import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Parser, extract, type ReadEntry } from 'tar';
import { ArchiveEntryChecker, type ArchiveLimits, type ArchiveSummary } from './archive-entries.js';
import { ArchiveError, CodeSyncError, TooManyEntriesError } from './errors.js';


/**
 * Reads a tar.gz (or plain tar) file through once, writing nothing, and throws an ArchiveError unless it is a
 * readable archive whose every entry stays inside the directory it would be extracted into (see
 * ArchiveEntryChecker). Runs at upload, so a hostile archive is refused before it is stored, and again before
 * each extraction.
 */
export async function inspectArchive(file: string, limits: ArchiveLimits = {}): Promise<ArchiveSummary> {
  const checker = new ArchiveEntryChecker(limits);
  let problem: unknown;
  const parser = new Parser({
    strict: true,
    onReadEntry(entry: ReadEntry) {
      if (problem === undefined) {
        try {
          checker.add(entry);
        } catch (error) {
          problem = error;
          // Stops the gunzip at once; the parser then reports an error, answered below with `problem`.
          parser.abort(new Error('entry refused'));
        }
      }
      entry.resume();
    },
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', () => resolve());
  });
  let failed = false;
  parsed.catch(() => (failed = true));

  try {
    const source = createReadStream(file);
    try {
      for await (const chunk of source) {
        if (failed) break;
        if (!parser.write(chunk as Buffer)) await Promise.race([new Promise((resolve) => parser.once('drain', resolve)), parsed]);
      }
    } finally {
      source.destroy();
    }
    if (!failed) parser.end();
    await parsed;
  } catch (error) {
    if (problem !== undefined) throw problem;
    if (error instanceof ArchiveError || error instanceof TooManyEntriesError) throw error;
    throw new ArchiveError(`Not a readable tar.gz archive: ${describe(error)}.`);
  }
  if (problem !== undefined) throw problem;
  return checker.finish();
}

/**
 * Extracts a tar.gz file into `dir` (created if absent; expected empty), after `inspectArchive` has accepted it,
 * so a refused archive leaves nothing behind. Entries get the server's owner and lose setuid, setgid and sticky
 * bits; tar's own confinement stays on as a second line of defence, with any warning fatal.
 */
export async function extractArchive(file: string, dir: string, limits: ArchiveLimits = {}, signal?: AbortSignal): Promise<ArchiveSummary> {
  const summary = await inspectArchive(file, limits);
  if (signal?.aborted) throw new CodeSyncError('Extracting the code archive was canceled.');
  await mkdir(dir, { recursive: true });
  try {
    await extract({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter(_path, entry) {
        const read = entry as ReadEntry;
        // The filter runs before tar opens anything: the one place to take the special bits off the mode.
        if (typeof read.mode === 'number') read.mode &= 0o777;
        return true;
      },
    });
  } catch (error) {
    throw new CodeSyncError(`Extracting the code archive into ${dir} failed: ${describe(error)}.`);
  }
  return summary;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
