/** How executions (netunicorn's view of an experiment) and nodes look to a person. */
import type { ExecutionInfo, ExecutorResult, PeriscopeNode, Trial } from '@periscope/sdk';
import type { Style } from './style.js';
import { renderFields, renderTable } from './table.js';
import { duration, relativeTime } from './time.js';

export function executionTable(executions: ExecutionInfo[], style: Style, now = Date.now()): string {
  return renderTable(
    ['NAME', 'STATUS', 'EXPERIMENT', 'OUTCOME', 'EXECUTORS', 'AGE'],
    executions.map((x) => [
      x.name,
      style.status(x.status),
      x.experiment.experimentId,
      x.status === 'FINISHED' ? style.status(x.experiment.status) : '-',
      executorSummary(x, style),
      relativeTime(x.experiment.acceptedTime, now),
    ]),
  );
}

/** `2 planned` before it ran; `1 Running, 1 Canceled` after. */
function executorSummary(x: ExecutionInfo, style: Style): string {
  if (!x.executionResult) {
    const planned = Object.values(x.experiment.spec.spec).reduce((n, task) => n + task.replicas, 0);
    return `${planned} planned`;
  }
  const counts = new Map<string, number>();
  for (const r of x.executionResult) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${style.status(state)}`).join(', ');
}

/**
 * Status, the experiment behind it, and each executor: its result once it ran, else the plan (from the
 * trial, when it could be read).
 */
export function executionDetails(x: ExecutionInfo, trial: Trial | undefined, style: Style, now = Date.now()): string {
  const e = x.experiment;
  const fields: Array<[string, string]> = [
    ['Execution', x.name],
    ['Status', style.status(x.status)],
    ['Experiment', `${e.experimentId} (${style.status(e.status)})`],
    ['Prepared', e.acceptedTime ? `${e.acceptedTime} (${relativeTime(e.acceptedTime, now)})` : '-'],
  ];
  if (e.runningTime) fields.push(['Started', `${e.runningTime} (${relativeTime(e.runningTime, now)})`]);
  if (e.finishedTime) fields.push(['Finished', `${e.finishedTime} (${relativeTime(e.finishedTime, now)})`]);
  if (trial?.message) fields.push(['Message', trial.message]);
  const parts = [renderFields(fields)];
  if (x.executionResult) {
    parts.push(resultTable(x.executionResult, e.experimentId, style));
    const pipelines = x.executionResult.filter((r) => r.pipeline && r.pipeline.length > 0).map((r) => pipelineLines(r, e.experimentId));
    if (pipelines.length > 0) parts.push(pipelines.join('\n'));
  } else if (trial && trial.executors.length > 0) {
    parts.push(
      renderTable(
        ['EXECUTOR', 'ROLE', 'RANK', 'STATE'],
        trial.executors.map((r) => [short(r.name, e.experimentId), r.role, String(r.rank), style.status(r.state)]),
      ),
    );
  }
  return parts.join('\n\n');
}

function resultTable(results: ExecutorResult[], experimentId: string, style: Style): string {
  return renderTable(
    ['EXECUTOR', 'ROLE', 'RANK', 'NODE', 'STATE', 'EXIT', 'ERROR'],
    results.map((r) => [short(r.executor, experimentId), r.role, String(r.rank), r.node ?? '-', style.status(r.state), r.exitCode !== null ? String(r.exitCode) : '-', r.error ?? '']),
  );
}

/** A pipeline executor's commands: `worker-0 stage 1 · exit 0 · 1.2s · python prep.py`. */
function pipelineLines(r: ExecutorResult, experimentId: string): string {
  return r
    .pipeline!.map((step) => {
      const exit = step.exitCode === null ? 'not run to the end' : `exit ${step.exitCode}`;
      const took = step.durationMs !== null ? ` · ${duration(step.durationMs)}` : '';
      return `${short(r.executor, experimentId)} stage ${step.stage + 1} · ${exit}${took} · ${step.command}`;
    })
    .join('\n');
}

/** Executor names without the experiment id they start with. */
function short(name: string, experimentId: string): string {
  return name.startsWith(`${experimentId}-`) ? name.slice(experimentId.length + 1) : name;
}

/** Why an execution did not succeed, from its executors: `worker-1 exited with code 3; worker-2 Canceled`. */
export function failureSummary(x: ExecutionInfo): string | undefined {
  const bad = (x.executionResult ?? []).filter((r) => r.state !== 'Succeeded');
  if (bad.length === 0) return undefined;
  return bad.map((r) => `${short(r.executor, x.experiment.experimentId)} ${r.error ?? r.state}`).join('; ');
}

export function nodeTable(nodes: PeriscopeNode[], style: Style): string {
  return renderTable(
    ['NODE', 'STATE', 'ARCH', 'CPU', 'MEMORY', 'GPU', 'TRIALS', 'LABELS'],
    nodes.map((n) => [
      n.name,
      style.status(n.state),
      n.architecture,
      `${round(n.allocations.cpu)}/${round(n.cpus)}`,
      `${mib(n.allocations.memoryMb)}/${mib(n.memoryMb)}`,
      `${n.allocations.gpus.length}/${n.gpus.length}`,
      `${n.allocations.runningTrials} running, ${n.allocations.queuedTrials} queued`,
      Object.entries(n.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ]),
  );
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Memory for people: `512M`, `15.5G`. */
function mib(mb: number): string {
  return mb >= 1024 ? `${round(mb / 1024)}G` : `${mb}M`;
}
