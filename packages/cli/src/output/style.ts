/**
 * Colour for a terminal, plain text otherwise: enabled only when the stream is a TTY, unless NO_COLOR says no
 * or FORCE_COLOR says yes (https://no-color.org). Plain ANSI SGR codes; no dependency needed.
 */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  /**
   * A status in its colour: green Succeeded, red Failed, cyan Running, yellow waiting, grey Deleted or
   * Canceled; netunicorn's READY blue and FINISHED bold.
   */
  status(status: string): string;
  /** The n-th of several sources (pods), in a colour of its own. */
  nth(text: string, n: number): string;
}

const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 } as const;
const STATUS_COLOUR: Record<string, keyof typeof SGR> = {
  Succeeded: 'green',
  Failed: 'red',
  Running: 'cyan',
  Accepted: 'yellow',
  Created: 'yellow',
  Deleted: 'gray',
  // Executor states
  Pending: 'yellow',
  Canceled: 'gray',
  Lost: 'red',
  // netunicorn's execution statuses
  PREPARING: 'yellow',
  READY: 'blue',
  RUNNING: 'cyan',
  FINISHED: 'bold',
  UNKNOWN: 'gray',
  // Health
  healthy: 'green',
  unhealthy: 'red',
};
const CYCLE: Array<keyof typeof SGR> = ['cyan', 'magenta', 'yellow', 'green', 'blue'];

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const enabled = colourEnabled(stream, env);
  const paint = (code: keyof typeof SGR, text: string) => (enabled ? `\u001b[${SGR[code]}m${text}\u001b[0m` : text);
  return {
    enabled,
    bold: (text) => paint('bold', text),
    dim: (text) => paint('dim', text),
    status: (status) => (STATUS_COLOUR[status] ? paint(STATUS_COLOUR[status], status) : status),
    nth: (text, n) => paint(CYCLE[n % CYCLE.length]!, text),
  };
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** Width on screen: escape codes take none. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}
