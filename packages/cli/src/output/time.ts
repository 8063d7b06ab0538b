/** Times for people: "3m ago", "1h 02m". */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** How long ago an ISO time was, coarsely: "just now", "42s ago", "5m ago", "3h ago", "12d ago"; "-" when null. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const ago = now - then;
  if (ago < 0) return 'in the future';
  if (ago < 2 * SECOND) return 'just now';
  if (ago < MINUTE) return `${Math.floor(ago / SECOND)}s ago`;
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)}m ago`;
  if (ago < DAY) return `${Math.floor(ago / HOUR)}h ago`;
  return `${Math.floor(ago / DAY)}d ago`;
}

/** A duration: "30ms", "0.4s", "12s", "3m 04s", "1h 02m", "2d 3h". */
export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 100) return `${Math.round(ms)}ms`;
  if (ms < 10 * SECOND) return `${(ms / SECOND).toFixed(1).replace(/\.0$/, '')}s`;
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)}s`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)}m ${pad(Math.floor((ms % MINUTE) / SECOND))}s`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)}h ${pad(Math.floor((ms % HOUR) / MINUTE))}m`;
  return `${Math.floor(ms / DAY)}d ${Math.floor((ms % DAY) / HOUR)}h`;
}

/** From one ISO time to another (or to now while it runs); "-" when it has not started. */
export function span(from: string | null | undefined, to: string | null | undefined, now: number = Date.now()): string {
  if (!from) return '-';
  const start = Date.parse(from);
  const end = to ? Date.parse(to) : now;
  return Number.isNaN(start) || Number.isNaN(end) ? '-' : duration(end - start);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
