/** How experiments look to a person: the list table, the detail view, the one-line result of a wait. */
import type { Experiment, Trial } from '@periscope/sdk';
import type { Style } from './style.js';
import { renderFields, renderTable } from './table.js';
import { relativeTime, span } from './time.js';

/** `Master,Worker×2` */
export function roleSummary(experiment: Experiment): string {
  return Object.entries(experiment.spec.spec)
    .map(([role, task]) => (task.replicas > 1 ? `${role}×${task.replicas}` : role))
    .join(',');
}

export function experimentTable(experiments: Experiment[], style: Style, now = Date.now()): string {
  return renderTable(
    ['EXPERIMENT', 'NAME', 'STATUS', 'FRAMEWORK', 'ROLES', 'AGE', 'DURATION'],
    experiments.map((e) => [
      e.experimentId,
      e.spec.meta.name,
      style.status(e.status),
      e.spec.meta.framework,
      roleSummary(e),
      relativeTime(e.acceptedTime, now),
      span(e.runningTime, e.finishedTime, now),
    ]),
  );
}

export function experimentDetails(experiment: Experiment, trials: Trial[] | undefined, style: Style, now = Date.now()): string {
  const { meta, environment, code } = experiment.spec;
  const when = (iso: string | null) => (iso ? `${iso} (${relativeTime(iso, now)})` : '-');
  const fields: Array<[string, string]> = [
    ['Experiment', experiment.experimentId],
    ['Name', meta.name],
    ['Status', style.status(experiment.status)],
    ['Framework', meta.framework],
  ];
  if (meta.tags.length > 0) fields.push(['Tags', meta.tags.join(', ')]);
  if (meta.description) fields.push(['Description', meta.description]);
  fields.push(
    ['Accepted', when(experiment.acceptedTime)],
    ['Created', when(experiment.createdTime)],
    ['Running', when(experiment.runningTime)],
    ['Finished', when(experiment.finishedTime)],
    ['Duration', span(experiment.runningTime, experiment.finishedTime, now)],
  );
  if (meta.cmd) fields.push(['Command', meta.cmd]);
  const image = environment.image ?? environment.dockerImage;
  if (image) fields.push(['Image', image]);
  if (environment.name) fields.push(['Environment', environment.name]);
  if (code) fields.push(['Code', `${code.syncMode} ${code.git?.url ?? code.url ?? ''}`.trim()]);
  const trial = trials?.at(-1);
  if (trial?.message) fields.push(['Message', trial.message]);

  const roles = renderTable(
    ['ROLE', 'REPLICAS', 'RESOURCES', 'COMMAND'],
    Object.entries(experiment.spec.spec).map(([role, task]) => [role, String(task.replicas), task.resources ?? '-', task.cmd ?? '(meta.cmd)']),
  );
  const parts = [renderFields(fields), roles];
  if (trial && trial.executors.length > 0) {
    parts.push(
      renderTable(
        ['EXECUTOR', 'STATE', 'NODE', 'EXIT', 'STARTED', 'DURATION'],
        trial.executors.map((x) => [
          x.name.startsWith(`${experiment.experimentId}-`) ? x.name.slice(experiment.experimentId.length + 1) : x.name,
          style.status(x.state),
          x.node ?? '-',
          x.exitCode !== null ? String(x.exitCode) : x.signal ?? '-',
          relativeTime(x.startedTime, now),
          span(x.startedTime, x.finishedTime, now),
        ]),
      ),
    );
  }
  return parts.join('\n\n');
}
