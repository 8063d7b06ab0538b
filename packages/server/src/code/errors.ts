import { PeriscopeError, ValidationError } from '@periscope/core';

/**
 * Code could not be brought into a work dir (a failed or timed-out git clone, an archive that will not
 * extract). A 400: the cause is the code spec the user gave. The message is shown as the experiment's failure
 * reason, so it says what was attempted and what git or tar answered, with credentials redacted.
 */
export class CodeSyncError extends PeriscopeError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

/** An archive that is not a readable tar.gz, or one with an entry that would land outside its directory. */
export class ArchiveError extends ValidationError {
  /** The offending entry's path as written in the archive, when one entry is at fault. */
  readonly entry: string | undefined;
  constructor(message: string, entry?: string) {
    super(message);
    this.entry = entry;
  }
}

/**
 * An archive with more entries than the server extracts (ArchiveLimits.maxEntries): a 413, like an archive of
 * too many bytes, since it is the archive's size that is refused, not its shape.
 */
export class TooManyEntriesError extends PeriscopeError {
  constructor(maxEntries: number) {
    super('PAYLOAD_TOO_LARGE', `Archive has more than ${maxEntries} entries.`);
  }
}
