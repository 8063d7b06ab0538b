import { NotFoundError, ValidationError, type CodeSpec } from '@periscope/core';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CodeStore, type CodeStoreOptions } from './code-store.js';
import { CodeSyncError } from './errors.js';
import { extractArchive } from './extract.js';
import { gitClone, killLeftoverClones } from './git-sync.js';

export interface CodeSyncOptions extends CodeStoreOptions {
  /** The archive store to read uploads from (default: one over `<dataDir>/code` with these options). */
  store?: CodeStore;
  /** Longest a git clone may take, in milliseconds (default 5 minutes). */
  gitTimeoutMs?: number;
  /**
   * Turns the code spec as stored (git passwords sealed, experiments/secrets.ts) into one git can use; called
   * right before the clone, so opened passwords live no longer than it. Default: used as stored.
   */
  open?: (code: CodeSpec) => CodeSpec;
}

/**
 * Brings an experiment's code into a trial's work dir before its executors start: a shallow git clone for
 * `syncMode: git`, the extracted uploaded archive for `syncMode: upload`. Failures throw PeriscopeErrors
 * whose messages are written for the user, since they become the experiment's failure reason.
 */
export class CodeSync {
  readonly store: CodeStore;
  private readonly gitTimeoutMs: number | undefined;
  private readonly open: (code: CodeSpec) => CodeSpec;

  constructor(dataDir: string, options: CodeSyncOptions = {}) {
    this.store = options.store ?? new CodeStore(dataDir, options);
    this.gitTimeoutMs = options.gitTimeoutMs;
    this.open = options.open ?? ((code) => code);
  }

  /**
   * Fills `workDir`, which must be absent or empty. A clone into it left running by a server killed with -9
   * is killed first and what it wrote is removed. Aborting `signal` stops the sync at once (the git process
   * group is killed) and makes it throw.
   */
  async materialize(stored: CodeSpec, workDir: string, signal?: AbortSignal): Promise<void> {
    if (await killLeftoverClones(workDir)) {
      await Promise.all((await readdir(workDir).catch(() => [])).map((name) => rm(join(workDir, name), { recursive: true, force: true })));
    }
    const code = stored.syncMode.toLowerCase() === 'git' ? this.open(stored) : stored;
    const mode = code.syncMode.toLowerCase();
    const url = code.url ?? code.git?.url;
    if (url == null || url === '') throw new ValidationError('code.url: required (or code.git.url)', 'code.url');
    switch (mode) {
      case 'git':
        return gitClone(
          {
            url,
            branch: code.git?.branch,
            username: code.git?.username,
            password: code.git?.password,
            trustCerts: code.git?.trustCerts,
            timeoutMs: this.gitTimeoutMs,
            signal,
          },
          workDir,
        );
      case 'upload':
        return this.extractUpload(url, workDir, signal);
      default:
        throw new ValidationError(`code.syncMode: "${code.syncMode}" is not supported (use git or upload)`, 'code.syncMode');
    }
  }

  private async extractUpload(sha256: string, workDir: string, signal: AbortSignal | undefined): Promise<void> {
    if (!(await this.store.has(sha256))) {
      throw new NotFoundError(`Code archive ${sha256} was not uploaded (PUT /api/v1/code/${sha256}).`);
    }
    const present = await readdir(workDir).catch(() => []);
    if (present.length > 0) throw new CodeSyncError(`Cannot extract code archive ${sha256}: the work dir ${workDir} is not empty.`);
    await extractArchive(this.store.path(sha256), workDir, this.store.archiveLimits, signal);
  }
}
