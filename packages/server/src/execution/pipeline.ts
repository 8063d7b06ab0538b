/**
 * Pipelines (a netunicorn deployment's unit of work): stages of commands, the commands of a stage in
 * parallel, the next stage once all of them succeeded. A fixed runner script receives the commands as
 * positional parameters (stages separated by an ASCII record separator) and records, per command, its text,
 * exit code, start and end times and output in the executor's pipeline dir, where the server reads them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineStep } from '@periscope/core';
import { tailLines } from '../logs/line-reader.js';

export const STAGE_SEPARATOR = '\x1e';
const LAST_LINES = 20;

const RUNNER = [
  'dir=$PERISCOPE_PIPELINE_DIR',
  'mkdir -p "$dir"',
  'sep=$(printf "\\036")',
  'stage=0; n=0; pids=""',
  'finish_stage() {',
  '  for p in $pids; do wait "$p"; done',
  '  pids=""; i=0',
  '  while [ "$i" -lt "$n" ]; do',
  '    rc=$(cat "$dir/$stage.$i.rc" 2>/dev/null || echo 255)',
  '    if [ "$rc" != 0 ]; then echo "periscope: pipeline stage $stage, command $i failed with exit code $rc" >&2; exit "$rc"; fi',
  '    i=$((i+1))',
  '  done',
  '  stage=$((stage+1)); n=0',
  '}',
  'for command in "$@"; do',
  '  if [ "$command" = "$sep" ]; then finish_stage; continue; fi',
  '  printf "%s" "$command" >"$dir/$stage.$n.cmd"',
  '  (',
  '    start=$(date +%s%3N)',
  '    { sh -c "$command"; echo $? >"$dir/$stage.$n.rc"; } 2>&1 | tee "$dir/$stage.$n.out"',
  '    echo "$start $(date +%s%3N)" >"$dir/$stage.$n.time"',
  '  ) &',
  '  pids="$pids $!"; n=$((n+1))',
  'done',
  'finish_stage',
].join('\n');

export function pipelineArgv(stages: string[][]): string[] {
  return ['/bin/sh', '-c', RUNNER, 'periscope-pipeline', ...stages.flatMap((stage, i) => (i === 0 ? stage : [STAGE_SEPARATOR, ...stage]))];
}

export function pipelineDir(executorLogDir: string): string {
  return join(executorLogDir, 'pipeline');
}

/** What each command of an executor's pipeline did so far (commands of stages not reached are absent). */
export async function readPipeline(executorLogDir: string): Promise<PipelineStep[]> {
  const dir = pipelineDir(executorLogDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const steps: PipelineStep[] = [];
  for (const name of names) {
    const m = /^(\d+)\.(\d+)\.cmd$/.exec(name);
    if (!m) continue;
    const base = join(dir, `${m[1]}.${m[2]}`);
    const rc = (await readFile(`${base}.rc`, 'utf8').catch(() => '')).trim();
    const [start, end] = (await readFile(`${base}.time`, 'utf8').catch(() => '')).trim().split(' ').map(Number);
    steps.push({
      stage: Number(m[1]),
      index: Number(m[2]),
      command: await readFile(`${base}.cmd`, 'utf8'),
      exitCode: /^\d+$/.test(rc) ? Number(rc) : null,
      durationMs: start !== undefined && end !== undefined && Number.isFinite(start) && Number.isFinite(end) ? end - start : null,
      lastLines: (await tailLines(`${base}.out`, LAST_LINES)).map((l) => l.text),
    });
  }
  return steps.sort((a, b) => a.stage - b.stage || a.index - b.index);
}
