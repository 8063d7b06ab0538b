/**
 * Reads the spec a command is given with -f: JSON or YAML (chosen by extension; anything else is read as YAML,
 * which also accepts JSON), `-` for standard input. Every problem is a UsageError naming the file.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './exit-codes.js';

/** Largest spec file accepted; the server's own body limit is 1 MiB. */
const MAX_BYTES = 4 * 1024 * 1024;

/** `what` names the expected content with its article, e.g. `an experiment spec`. */
export async function readSpecFile(path: string, what: string): Promise<Record<string, unknown>> {
  const text = await readText(path);
  const name = path === '-' ? 'standard input' : path;
  if (text.trim() === '') throw new UsageError(`${name} is empty; expected ${what} in JSON or YAML`);
  const value = /\.json$/i.test(path) ? parseJson(text, name) : await parseYaml(text, name);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${name} holds ${describe(value)}, not ${what} (an object with its fields)`);
  }
  return value as Record<string, unknown>;
}

async function readText(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    const buffer = await readFile(path);
    if (buffer.length > MAX_BYTES) throw new UsageError(`${path} is ${buffer.length} bytes; a spec file may have at most ${MAX_BYTES}`);
    return buffer.toString('utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError(`cannot read ${path}: ${reason}`);
  }
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
}

/** yaml is loaded here, not at the top: it is half the CLI's start-up time, and most commands read no spec. */
async function parseYaml(text: string, name: string): Promise<unknown> {
  const YAML = (await import('yaml')).default;
  try {
    return YAML.parse(text, { maxAliasCount: 100 });
  } catch (error) {
    // yaml's message is "<what> at line L, column C:" followed by a code excerpt: keep the first line.
    const first = (error as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new UsageError(`${name} is not valid YAML: ${first}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
