import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colourEnabled, styleFor, visibleLength } from './style.js';
import { renderTable } from './table.js';
import { duration, relativeTime, span } from './time.js';

const NOW = Date.parse('2026-03-14T12:00:00.000+00:00');

describe('human output', () => {
  it('relative times are coarse and say "-" for a time not reached', () => {
    assert.equal(relativeTime(null, NOW), '-');
    assert.equal(relativeTime('2026-03-14T12:00:00.500+00:00', NOW), 'in the future');
    assert.equal(relativeTime('2026-03-14T11:59:59.000+00:00', NOW), 'just now');
    assert.equal(relativeTime('2026-03-14T11:59:18.000+00:00', NOW), '42s ago');
    assert.equal(relativeTime('2026-03-14T13:55:00.000+02:00', NOW), '5m ago');
    assert.equal(relativeTime('2026-03-14T09:00:00.000+00:00', NOW), '3h ago');
    assert.equal(relativeTime('2026-03-02T12:00:00.000+00:00', NOW), '12d ago');
  });

  it('durations read naturally at every scale, and a running span counts to now', () => {
    assert.deepEqual([30, 400, 9_950, 12_000, 184_000, 3_720_000, 2 * 86_400_000 + 3 * 3_600_000].map(duration), ['30ms', '0.4s', '9.9s', '12s', '3m 04s', '1h 02m', '2d 3h']);
    assert.equal(span('2026-03-14T11:59:00.000+00:00', null, NOW), '1m 00s');
    assert.equal(span(null, null, NOW), '-');
  });

  it('tables align columns by visible width, colour codes included', () => {
    const style = styleFor({ isTTY: true }, {});
    const table = renderTable(['ID', 'STATUS', 'AGE'], [['a', style.status('Succeeded'), '1s ago'], ['bbbb', style.status('Failed'), '-']]);
    const lines = table.split('\n').map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    assert.deepEqual(lines, ['ID    STATUS     AGE', 'a     Succeeded  1s ago', 'bbbb  Failed     -']);
    assert.equal(visibleLength(style.status('Running')), 'Running'.length);
  });

  it('colours statuses only on a terminal, and never with NO_COLOR; FORCE_COLOR forces', () => {
    assert.equal(styleFor({ isTTY: true }, {}).status('Failed'), '\u001b[31mFailed\u001b[0m');
    assert.equal(styleFor({ isTTY: false }, {}).status('Failed'), 'Failed');
    assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colourEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
    assert.equal(colourEnabled({ isTTY: false }, { FORCE_COLOR: '1' }), true);
    assert.equal(colourEnabled({ isTTY: true }, { FORCE_COLOR: '0' }), false);
  });
});
