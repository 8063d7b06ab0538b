import { dateTime, relativeTime } from '../format';

/** A relative time ("5m ago"), the exact one on hover. */
export function Ago({ iso, now }: { iso: string | null | undefined; now: number }) {
  return iso ? (
    <time dateTime={iso} title={dateTime(iso)}>
      {relativeTime(iso, now)}
    </time>
  ) : (
    <span className="muted">—</span>
  );
}
