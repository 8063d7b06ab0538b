/**
 * Asking for a password: typed at a terminal without echo, or read from stdin (`--password-stdin`) for scripts,
 * so a password is never an argument (visible in `ps` and shell history).
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from './exit-codes.js';

/** The first line of stdin, without its line ending (the rest is left unread). */
export async function passwordFromStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const line = text.split('\n')[0]!.replace(/\r$/, '');
  if (line === '') throw new UsageError('--password-stdin: stdin held no password (pipe it in: echo "$PASSWORD" | periscope …)');
  return line;
}

/** A password typed at the terminal, not echoed; asked twice (and compared) when `confirm` is set. */
export async function askPassword(question: string, confirm = false): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password: pipe it in with --password-stdin');
  const password = await hiddenLine(question);
  if (password === '') throw new UsageError('the password must not be empty');
  if (confirm && (await hiddenLine('Again: ')) !== password) throw new UsageError('the two passwords differ');
  return password;
}

/** A line typed at the terminal, echoed. */
export async function askLine(question: string): Promise<string> {
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await lines.question(question)).trim();
  } finally {
    lines.close();
  }
}

/**
 * One line from the terminal in raw mode, so nothing typed is shown. Backspace edits; Ctrl-C interrupts (an
 * AbortError: exit 130, as for any command), Ctrl-D ends the line.
 */
function hiddenLine(question: string): Promise<string> {
  const input = process.stdin;
  // Raw (no echo) before the question shows: whatever is typed once it is up stays hidden.
  input.setRawMode(true);
  process.stderr.write(question);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          return resolve(line);
        }
        if (char === '\u0003') {
          finish();
          return reject(new DOMException('interrupted at the password prompt', 'AbortError'));
        }
        if (char === '\u007f' || char === '\b') line = line.slice(0, -1);
        else line += char;
      }
    };
    input.on('data', onData);
  });
}
