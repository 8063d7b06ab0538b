/**
 * A virtualized log: rows of one fixed height, and only those in sight (plus a margin) in the DOM, so a window
 * of 200,000 lines scrolls as smoothly as one of 200.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { LogLine } from '@periscope/sdk';
import { clockTime } from '../format';

export const ROW_HEIGHT = 20;
const OVERSCAN = 20;
/** Ask for the next page while this many rows remain below the view. */
const PREFETCH_ROWS = 200;

export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

/** A line without a level counts as INFO (the SDK's rule too). */
function levelIndex(level: string | null): number {
  const index = LEVELS.indexOf((level ?? 'INFO').toUpperCase() as (typeof LEVELS)[number]);
  return index < 0 ? 2 : index;
}

export interface LogViewProps {
  lines: readonly LogLine[];
  /** Changes whenever `lines` (appended to in place) does. */
  version: number;
  /** Lines dropped from the top so far: the scroll position is kept across a drop. */
  dropped: number;
  /** Only lines at this level or above. */
  minLevel: string;
  /** Only lines containing this (any case), highlighted. */
  search: string;
  /** Stay at the bottom as lines arrive, while the reader is there. */
  follow: boolean;
  /** Changes when the view should go to the bottom (a jump to the end) or the top (a new start). */
  anchor: { to: 'top' | 'bottom'; key: number };
  onNearBottom: () => void;
}

export function LogView({ lines, version, dropped, minLevel, search, follow, anchor, onNearBottom }: LogViewProps) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const atBottom = useRef(anchor.to === 'bottom');
  const droppedSeen = useRef(dropped);

  const needle = search.trim().toLowerCase();
  // Indexes of the lines shown; null when every line is (no copy of a 200,000-line window per update).
  const shown = useMemo(() => {
    const min = minLevel ? LEVELS.indexOf(minLevel as (typeof LEVELS)[number]) : -1;
    if (min <= 0 && !needle) return null;
    const keep: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if ((min <= 0 || levelIndex(line.level) >= min) && (!needle || line.text.toLowerCase().includes(needle))) keep.push(i);
    }
    return keep;
  }, [lines, version, minLevel, needle]);
  const count = shown ? shown.length : lines.length;

  useEffect(() => {
    const el = box.current!;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const el = box.current!;
    atBottom.current = anchor.to === 'bottom';
    el.scrollTop = anchor.to === 'bottom' ? el.scrollHeight : 0;
    setScrollTop(el.scrollTop);
  }, [anchor.key, anchor.to]);

  // After the lines change: stick to the bottom while there and following, or after a jump to the end (its lines
  // arrive after the jump); else keep the rows in place across a drop.
  useLayoutEffect(() => {
    const el = box.current!;
    const drop = dropped - droppedSeen.current;
    droppedSeen.current = dropped;
    if (atBottom.current && (follow || anchor.to === 'bottom')) el.scrollTop = el.scrollHeight;
    else if (drop > 0 && !shown) el.scrollTop = Math.max(0, el.scrollTop - drop * ROW_HEIGHT);
    setScrollTop(el.scrollTop);
  }, [version, count, follow, dropped, shown, anchor.to]);

  const onScroll = useCallback(() => {
    const el = box.current!;
    setScrollTop(el.scrollTop);
    atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < PREFETCH_ROWS * ROW_HEIGHT) onNearBottom();
  }, [onNearBottom]);

  // A short first page leaves nothing to scroll: ask for more at once.
  useEffect(() => {
    if (count * ROW_HEIGHT < height + PREFETCH_ROWS * ROW_HEIGHT) onNearBottom();
  }, [count, height, onNearBottom]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const rows: ReactNode[] = [];
  for (let row = first; row < last; row++) {
    const line = lines[shown ? shown[row]! : row];
    if (line) rows.push(<LogRow key={row} line={line} top={row * ROW_HEIGHT} needle={needle} />);
  }

  return (
    <div ref={box} className="log-view" role="log" aria-label="Logs" aria-live="off" tabIndex={0} onScroll={onScroll}>
      <div className="log-rows" style={{ height: count * ROW_HEIGHT }}>
        {rows}
      </div>
      {count === 0 && <p className="log-empty">{lines.length === 0 ? 'No log lines.' : 'No lines match.'}</p>}
    </div>
  );
}

function LogRow({ line, top, needle }: { line: LogLine; top: number; needle: string }) {
  return (
    <div className={`log-row ${line.stream === 'stderr' ? 'stderr' : ''}`} style={{ top }}>
      <span className="log-time" title={line.time}>
        {clockTime(line.time)}
      </span>
      <span className="log-source" title={`${line.executor} rank ${line.rank}`}>
        {line.executor.split('-').slice(-2).join('-')}/{line.rank}
      </span>
      <span className="log-stream">{line.stream}</span>
      <span className="log-text">{highlight(line.text, needle)}</span>
    </div>
  );
}

function highlight(text: string, needle: string): ReactNode {
  if (!needle) return text;
  const lower = text.toLowerCase();
  const parts: ReactNode[] = [];
  let from = 0;
  for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, from)) {
    if (at > from) parts.push(text.slice(from, at));
    parts.push(<mark key={at}>{text.slice(at, at + needle.length)}</mark>);
    from = at + needle.length;
  }
  parts.push(text.slice(from));
  return parts;
}
