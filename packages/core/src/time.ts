/**
 * Times on the wire are ISO-8601 with milliseconds and the server's UTC offset, as Submarine 0.7 writes them
 * (`2022-03-14T16:03:10.000+08:00`). Stored times are epoch milliseconds.
 */
export function formatTime(millis: number | null | undefined): string | null {
  if (millis == null) return null;
  const date = new Date(millis);
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(millis + offsetMin * 60_000);
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return local.toISOString().replace('Z', offset);
}

/**
 * formatTime for a run of reports: the reports of one batch share their time, so the last text is kept
 * (formatting 100k times was a fifth of a 100k-point chart read).
 */
export function reportTimes(): (at: number) => string {
  let last: number | undefined;
  let text = '';
  return (at) => {
    if (at !== last) {
      last = at;
      text = formatTime(at)!;
    }
    return text;
  };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
