/**
 * The top entries of V8 CPU profiles (`node --cpu-prof`, or `npm run bench -- --profile`): self time by
 * function, as a percent of the busy samples (idle left out), and the same summed by package, so a profile can
 * be read without DevTools and its figures pasted where the next person looks (bench/README.md).
 *
 *   node --import tsx bench/profile-top.ts [--top 15] file.cpuprofile…
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
if (positionals.length === 0) {
  process.stderr.write('usage: node --import tsx bench/profile-top.ts [--top N] file.cpuprofile…\n');
  process.exit(2);
}
const top = Number(values.top);
/** Each bundle's source map, read once (null where there is none). */
const maps = new Map<string, SourceMap | null>();

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  let busy = 0;
  for (const [id, count] of hits) {
    const { functionName, ...generated } = byNode.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const { url, lineNumber } = original(generated);
    busy += count;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + count);
    const owner = packageOf(url, functionName);
    packages.set(owner, (packages.get(owner) ?? 0) + count);
  }
  const percent = (n: number) => `${((100 * n) / busy).toFixed(1).padStart(5)} %`;
  process.stdout.write(`${file}: ${busy} busy samples of ${profile.samples.length}\n  self time by function:\n`);
  for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${percent(count)}  ${key}\n`);
  process.stdout.write('  self time by package:\n');
  for (const [key, count] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${percent(count)}  ${key}\n`);
}

/**
 * Where a frame of a bundle came from, by the source map beside it: the server bundles some packages (kysely,
 * typebox), whose frames would otherwise all count as periscope's.
 */
function original(frame: { url: string; lineNumber: number; columnNumber: number }): { url: string; lineNumber: number } {
  if (!frame.url.startsWith('file:') || frame.lineNumber < 0) return frame;
  let map = maps.get(frame.url);
  if (map === undefined) {
    const file = `${fileURLToPath(frame.url)}.map`;
    map = existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : null;
    maps.set(frame.url, map);
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry || !('originalSource' in entry)) return frame;
  return { url: new URL(entry.originalSource, pathToFileURL(fileURLToPath(frame.url))).href, lineNumber: entry.originalLine };
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  return url.replace(/^file:\/\/.*?\/packages\//, 'packages/').replace(/^node:/, 'node:');
}

/** node_modules/<package>, node's own (node:…), our bundle, or V8's bookkeeping ((garbage collector) …). */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (core)';
  return 'periscope';
}
