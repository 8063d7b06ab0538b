/**
 * How an experiment's status follows from its trials, in one place, for the orchestrator (a trial ended, a
 * cancel completed) and the reconciler (a restart, a write that was lost). A plain experiment has one trial
 * and ends as it does; a search experiment ends when its searcher says so (or a cancel ends it).
 */
import { isTerminal } from '@periscope/core';
import type { ExperimentStore } from '../experiments/store.js';
import { isTrialFinished, type TrialStore } from '../trials/store.js';

/**
 * Gives a plain experiment whose trials have all ended the status of its last trial; one with no trial ends
 * Canceled when a cancel was asked for. Idempotent, and never moves an experiment that has already ended.
 */
export async function settleExperiment(experiments: ExperimentStore, trials: TrialStore, experimentId: string): Promise<void> {
  const experiment = await experiments.get(experimentId);
  if (!experiment || isTerminal(experiment.status) || experiment.spec.searcher != null) return;
  const all = await trials.ofExperiment(experimentId);
  const last = all.at(-1);
  if (!last) {
    if (experiment.cancelRequestedAt !== null) await experiments.transition(experimentId, { status: 'Canceled', finishedAt: Date.now(), message: 'Canceled by request.' });
    return;
  }
  if (!all.every((t) => isTrialFinished(t.state))) return;
  await experiments.transition(experimentId, { status: last.state as 'Succeeded' | 'Failed' | 'Canceled', finishedAt: last.finishedAt ?? Date.now(), message: last.message });
}
