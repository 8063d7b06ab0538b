/**
 * Runs a hyperparameter search: feeds the searcher (a pure state machine from @periscope/core) the events of
 * its trials — validation metrics, exits — and carries out what it answers: create a trial, set its length
 * budget, stop it, or end the experiment. The searcher's snapshot is saved after every event, so a restarted
 * server resumes the search where it was.
 */
import { createSearcher, isTerminal, metricNumber, restoreSearcher, type HyperparameterSpace, type MetricValue, type Searcher, type SearcherAction, type SearcherConfig, type SearcherEvent } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import { isTrialFinished, type TrialRecord, type TrialStore } from '../trials/store.js';
import type { EventBus, TrialOutcome } from './events.js';
import type { Orchestrator } from './orchestrator.js';

interface Search {
  searcher: Searcher;
  config: SearcherConfig;
  /** Serializes events: the searcher sees them one at a time, in order. */
  chain: Promise<void>;
}

export class SearchDriver {
  private readonly searches = new Map<string, Search>();

  constructor(
    private readonly orchestrator: Orchestrator,
    bus: EventBus,
    private readonly experiments: ExperimentStore,
    private readonly trials: TrialStore,
    private readonly log: FastifyBaseLogger,
  ) {
    bus.on('trial.finished', ({ trial, outcome }) => this.onFinished(trial, outcome));
    bus.on('metrics.reported', ({ trial, group, reports }) => {
      if (group === 'validation') for (const r of reports) this.validation(trial, r.stepsCompleted, r.metrics);
    });
  }

  /** Starts the search of a new experiment. */
  async begin(experiment: ExperimentRecord): Promise<void> {
    const { config, space } = searchOf(experiment);
    // The seed comes from the experiment's uid: reproducible for the experiment, different between experiments.
    const seed = Number.parseInt(experiment.uid.replaceAll('-', '').slice(0, 8), 16) >>> 0;
    const search: Search = { searcher: createSearcher(config, space, seed), config, chain: Promise.resolve() };
    this.searches.set(experiment.id, search);
    await this.handle(experiment.id, { type: 'start' });
  }

  /**
   * After a restart, before the orchestrator recovers trials (whose exits while the server was down must reach
   * their searcher): rebuild every unfinished search from its snapshot. Answers those that never started.
   */
  async restore(): Promise<ExperimentRecord[]> {
    const unstarted: ExperimentRecord[] = [];
    const unfinished = await this.experiments.list({ statuses: ['Accepted', 'Preparing', 'Running'] });
    for (const experiment of unfinished.items) {
      if (experiment.spec.searcher == null) continue;
      const snapshot = await this.experiments.searcherState(experiment.id);
      if (snapshot === undefined) {
        unstarted.push(experiment);
        continue;
      }
      const { config, space } = searchOf(experiment);
      this.searches.set(experiment.id, { searcher: restoreSearcher(config, space, snapshot), config, chain: Promise.resolve() });
    }
    return unstarted;
  }

  /**
   * After recovery, what a server killed mid-step left undone in each restored search:
   * - a searcher that had answered `done` whose experiment was not yet ended is ended now;
   * - each trial that had ended is told again: a kill between a trial's end and its searcher's next snapshot left
   *   that end unheard, and the search waited for it forever. A searcher ignores the end of a trial it no longer
   *   counts as live, so telling it again is harmless.
   */
  async replayEnded(): Promise<void> {
    for (const [experimentId, search] of [...this.searches]) {
      if (search.searcher.isDone()) {
        search.chain = search.chain
          .then(() => this.apply(experimentId, { type: 'done' }, new Map()))
          .catch((error) => this.log.error({ err: error, experimentId }, 'ending a finished search failed'));
        continue;
      }
      for (const trial of await this.trials.ofExperiment(experimentId)) {
        if (isTrialFinished(trial.state)) this.onFinished(trial, trial.state as TrialOutcome);
      }
    }
  }

  /** A validation report of one of the search's trials. */
  private validation(trial: TrialRecord, stepsCompleted: number, metrics: Record<string, MetricValue>): void {
    const search = this.searches.get(trial.experimentId);
    if (!search || trial.requestId === null) return;
    const reported = metrics[search.config.metric];
    if (reported === undefined) return;
    // A NaN or infinite value (a diverged trial) ranks last, whichever way is better.
    const value = metricNumber(reported);
    const metric = Number.isFinite(value) ? value : search.config.smallerIsBetter ? Number.MAX_VALUE : -Number.MAX_VALUE;
    void this.handle(trial.experimentId, { type: 'validation', requestId: trial.requestId, length: stepsCompleted, metric });
  }

  private onFinished(finished: TrialRecord, outcome: TrialOutcome): void {
    if (finished.requestId === null || !this.searches.has(finished.experimentId)) return;
    const requestId = finished.requestId;
    const search = this.searches.get(finished.experimentId)!;
    search.chain = search.chain.then(async () => {
      // Promoted while it still ran on its old budget: it has more to train, from its latest checkpoint.
      const trial = await this.trials.get(finished.id);
      if (outcome === 'Succeeded' && trial && trial.lengthBudget !== null && (trial.stepsCompleted ?? 0) < trial.lengthBudget && !trial.stopRequested) {
        await this.orchestrator.requeue(trial.id);
        return;
      }
      const reason = outcome === 'Succeeded' ? 'completed' : outcome === 'Failed' ? 'errored' : 'stopped';
      void this.handle(finished.experimentId, { type: 'exited', requestId, reason });
    });
  }

  private handle(experimentId: string, event: SearcherEvent): Promise<void> {
    const search = this.searches.get(experimentId)!;
    search.chain = search.chain
      .then(async () => {
        const actions = search.searcher.handle(event);
        await this.experiments.saveSearcherState(experimentId, search.searcher.snapshot());
        // A new trial starts with its budget already set: it may read it the moment it starts.
        const firstBudget = new Map<string, number>();
        for (const a of actions) if (a.type === 'train' && !firstBudget.has(a.requestId)) firstBudget.set(a.requestId, a.length);
        for (const action of actions) await this.apply(experimentId, action, firstBudget);
      })
      .catch((error) => this.log.error({ err: error, experimentId }, 'search step failed'));
    return search.chain;
  }

  private async apply(experimentId: string, action: SearcherAction, firstBudget: Map<string, number>): Promise<void> {
    const experiment = await this.experiments.get(experimentId);
    if (!experiment || isTerminal(experiment.status) || this.orchestrator.isCanceling(experimentId)) return;
    const trials = await this.trials.ofExperiment(experimentId);
    const trial = 'requestId' in action ? trials.find((t) => t.requestId === action.requestId) : undefined;
    switch (action.type) {
      case 'create':
        await this.orchestrator.createTrial(experiment, trials.length + 1, action.hparams, action.requestId, firstBudget.get(action.requestId) ?? null);
        return;
      case 'train':
        if (!trial) return;
        await this.trials.update(trial.id, { lengthBudget: action.length });
        // A trial that already finished its previous budget is promoted: it runs again from its checkpoint.
        if (trial.state === 'Succeeded' && (trial.stepsCompleted ?? 0) < action.length) await this.orchestrator.requeue(trial.id);
        return;
      case 'stop':
        if (!trial) return;
        await this.trials.update(trial.id, { stopRequested: true });
        await this.orchestrator.stopTrial(trial.id);
        return;
      case 'done': {
        this.searches.delete(experimentId);
        const succeeded = trials.some((t) => t.state === 'Succeeded');
        await this.experiments.transition(experimentId, {
          status: succeeded ? 'Succeeded' : 'Failed',
          finishedAt: Date.now(),
          message: succeeded ? null : 'No trial of the search succeeded.',
        });
      }
    }
  }
}

function searchOf(experiment: ExperimentRecord): { config: SearcherConfig; space: HyperparameterSpace } {
  return { config: experiment.spec.searcher!, space: experiment.spec.hyperparameters ?? {} };
}
