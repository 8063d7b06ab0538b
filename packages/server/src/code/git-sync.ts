import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CodeSyncError } from './errors.js';
import { hasAmbiguousUserinfo, urlPassword } from './git-url.js';

export interface GitCloneOptions {
  /** Any URL git accepts: `https://`, `ssh://`, `git@host:path`, `file://`, or a local path. */
  url: string;
  /** Branch or tag to check out (default: the remote's default branch). */
  branch?: string | null | undefined;
  /** Credentials for HTTP(S) remotes, answered only when the server asks; never in argv or messages. */
  username?: string | null | undefined;
  password?: string | null | undefined;
  /** Skip TLS certificate verification (Submarine's `trustCerts`). */
  trustCerts?: boolean | null | undefined;
  /** Kill git (and its helpers) after this many milliseconds (default 5 minutes). */
  timeoutMs?: number | undefined;
  /** Aborting kills git's process group at once (a cancel during the clone); the clone then throws. */
  signal?: AbortSignal | undefined;
}

const DEFAULT_GIT_TIMEOUT_MS = 5 * 60 * 1000;
/** How much of git's stderr a failure message quotes. */
const STDERR_LINES = 5;
const STDERR_KEEP_BYTES = 64 * 1024;

/**
 * `git clone --depth 1 [--branch <ref>] -- <url> <dir>`, spawned with an argument array. `dir` must be absent
 * or empty; after a failure it is left as it was found. Throws a CodeSyncError quoting git's last lines of
 * stderr, credentials redacted.
 */
export async function gitClone(options: GitCloneOptions, dir: string): Promise<void> {
  const { url, branch } = options;
  // Only passwords are secret; a username is needed to read messages like "Authentication failed for …".
  const secrets = [options.password, urlPassword(url)?.password].filter((secret): secret is string => secret != null && secret !== '');
  const what = `git clone of ${redact(url, secrets)}${branch ? ` (branch ${branch})` : ''}`;
  checkArgument(url, 'URL', what);
  if (hasAmbiguousUserinfo(url)) {
    // git and URL parsers split such a URL at different @s, so no redaction could be sure to hide the password.
    throw new CodeSyncError(`Cannot run ${what}: the URL has more than one @ before its host; write an @ in the user name or password as %40.`);
  }
  if (branch != null && branch !== '') checkArgument(branch, 'branch', what);
  if (/[\0\r\n]/.test(`${options.username ?? ''}${options.password ?? ''}`)) {
    throw new CodeSyncError(`Cannot run ${what}: the credentials contain a line break.`);
  }
  if (options.signal?.aborted) throw canceled(what);
  const existed = await prepareTarget(dir, what);

  const args = ['clone', '--depth', '1', ...(branch ? ['--branch', branch] : []), '--', url, dir];
  try {
    await runGit(args, gitEnvironment(options), options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS, what, secrets, options.signal);
  } catch (error) {
    if (existed) await Promise.all((await readdir(dir).catch(() => [])).map((name) => rm(join(dir, name), { recursive: true, force: true })));
    else await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function checkArgument(value: string, name: string, what: string): void {
  if (value === '') throw new CodeSyncError(`Cannot run ${what}: the ${name} is empty.`);
  if (value.startsWith('-')) throw new CodeSyncError(`Cannot run ${what}: a ${name} may not start with "-".`);
  if (/[\0\r\n]/.test(value)) throw new CodeSyncError(`Cannot run ${what}: the ${name} contains a control character.`);
}

/** Whether `dir` already existed; refuses a non-empty one (git would, less clearly). */
async function prepareTarget(dir: string, what: string): Promise<boolean> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (entries === undefined) {
    await mkdir(dirname(dir), { recursive: true });
    return false;
  }
  if (entries.length > 0) throw new CodeSyncError(`Cannot run ${what}: the work dir ${dir} is not empty.`);
  return true;
}

/**
 * git never prompts (no terminal, no askpass); credentials travel in the environment to a credential helper
 * set through GIT_CONFIG_* variables, a fixed shell snippet that reads them from there, so no value is ever
 * spliced into a command line. The `ext::` transport, which runs commands, stays off whatever the user's
 * config says.
 */
function gitEnvironment(options: GitCloneOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', LC_ALL: 'C' };
  delete env.GIT_ASKPASS;
  delete env.SSH_ASKPASS;
  const config: Array<[string, string]> = [['protocol.ext.allow', 'never']];
  if (options.trustCerts) config.push(['http.sslVerify', 'false']);
  if (options.username || options.password) {
    // The snippet names environment variables only; the values never pass through a shell's parser.
    let format = '';
    let values = '';
    if (options.username) {
      env.PERISCOPE_GIT_USERNAME = options.username;
      format += 'username=%s\\n';
      values += ' "$PERISCOPE_GIT_USERNAME"';
    }
    if (options.password) {
      env.PERISCOPE_GIT_PASSWORD = options.password;
      format += 'password=%s\\n';
      values += ' "$PERISCOPE_GIT_PASSWORD"';
    }
    // An empty value first clears helpers from the user's config, so only this one answers.
    config.push(['credential.helper', ''], ['credential.helper', `!f() { test "$1" = get || return 0; printf '${format}'${values}; }; f`]);
  }
  const base = Number(env.GIT_CONFIG_COUNT ?? 0) || 0;
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${base + i}`] = key;
    env[`GIT_CONFIG_VALUE_${base + i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(base + config.length);
  return env;
}

function canceled(what: string): CodeSyncError {
  return new CodeSyncError(`${what} was canceled.`);
}

function runGit(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, what: string, secrets: string[], signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout or a cancel also stops git-remote-https, ssh and the like.
    const child = spawn('git', args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const onAbort = () => {
      aborted = true;
      killGroup();
    };
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    // Answered once git is gone (its 'close'), so nothing writes into the work dir after the clone throws.
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_BYTES);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? 'git is not installed on the server' : redact(error.message, secrets);
      settle(new CodeSyncError(`Cannot run ${what}: ${reason}.`));
    });
    child.on('close', (code, exitSignal) => {
      if (aborted) return settle(canceled(what));
      if (code === 0) return settle();
      const said = lastLines(redact(stderr, secrets));
      const how = timedOut ? `timed out after ${timeoutMs < 10_000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}` : `failed (${exitSignal ? `signal ${exitSignal}` : `exit code ${code}`})`;
      settle(new CodeSyncError(`${what} ${how}${said ? `: ${said}` : '.'}`));
    });
  });
}

/**
 * Kills what is left of an earlier clone into `dir`: a `git clone` whose last argument is `dir` (found through
 * /proc; a server killed with -9 leaves its detached clone running, still writing into the work dir), with its
 * process group (git-remote-https and the like). Resolves once they are gone; true when one was found. Where
 * there is no /proc, finds nothing.
 */
export async function killLeftoverClones(dir: string): Promise<boolean> {
  const groups = new Set<number>();
  const pids: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.at(-1) === '') argv.pop();
    if (!/(^|\/)git$/.test(argv[0] ?? '') || !argv.includes('clone') || argv.at(-1) !== dir) continue;
    const group = await processGroup(pid);
    if (group === undefined) continue;
    pids.push(pid);
    groups.add(group);
  }
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  for (const pid of pids) await gone(pid);
  return pids.length > 0;
}

/** The process group of a live (not zombie) process; undefined once it has exited. */
async function processGroup(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // `pid (comm) state ppid pgrp …`; comm may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields.length < 3 || fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return Number(fields[2]);
}

/** Waits for a killed process to exit (SIGKILL is not ignored; a few seconds is generous). */
async function gone(pid: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await processGroup(pid)) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

function lastLines(text: string): string {
  return text
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('Cloning into '))
    .slice(-STDERR_LINES)
    .join(' / ');
}

/** Hides passwords in URLs (`scheme://user:secret@`) and every credential value given. */
export function redact(text: string, secrets: readonly string[] = []): string {
  // The given secrets first, whole: the URL pattern below could cut one short and leave its tail.
  let out = text;
  for (const secret of secrets) {
    out = out.split(secret).join('***');
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join('***');
  }
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/gi, '$1:***@');
}
