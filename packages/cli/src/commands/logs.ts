/** Printing pod logs: a coloured `role-index |` prefix when several pods speak, NDJSON with --json. */
import type { Experiment, ExperimentLog, PodLogLine } from '@periscope/sdk';
import type { Context } from '../context.js';
import type { Style } from '../output/style.js';

export type PodLabels = (podName: string) => string;

/** Prefixes for the pods of `experiment` (none when only one pod is shown), aligned and coloured per pod. */
export function podLabels(experiment: Experiment, onlyMaster: boolean, style: Style): PodLabels {
  const id = experiment.experimentId;
  const shortNames = Object.entries(experiment.spec.spec).flatMap(([role, task]) =>
    Array.from({ length: task.replicas }, (_, i) => `${role.toLowerCase()}-${i}`),
  );
  if (onlyMaster || shortNames.length <= 1) return () => '';
  const order = new Map(shortNames.sort().map((name, i) => [name, i]));
  const width = Math.max(...shortNames.map((n) => n.length));
  return (podName) => {
    const short = podName.startsWith(`${id}-`) ? podName.slice(id.length + 1) : podName;
    if (!order.has(short)) order.set(short, order.size);
    return `${style.nth(short.padEnd(width), order.get(short)!)} | `;
  };
}

export function printLine(ctx: Context, labels: PodLabels, line: PodLogLine): void {
  if (ctx.json) process.stdout.write(`${JSON.stringify(line)}\n`);
  else ctx.print(`${labels(line.podName)}${line.text}`);
}

/** Every pod's lines (the last `tail` of each when given), pod after pod. */
export function printLog(ctx: Context, labels: PodLabels, log: ExperimentLog, tail: number | undefined): void {
  const trimmed: ExperimentLog = {
    experimentId: log.experimentId,
    logContent: log.logContent.map(({ podName, podLog }) => ({ podName, podLog: tail === undefined ? podLog : tail === 0 ? [] : podLog.slice(-tail) })),
  };
  if (ctx.json) return ctx.printJson(trimmed);
  for (const { podName, podLog } of trimmed.logContent) {
    const prefix = labels(podName);
    if (podLog.length > 0) process.stdout.write(podLog.map((text) => `${prefix}${text}\n`).join(''));
  }
}
