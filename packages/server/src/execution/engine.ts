/**
 * What the parts of the orchestrator share: its collaborators, the trials it is running, the per-trial chains
 * that apply one change at a time, and the steps every part needs (plan, the run's spec, code-sync aborts).
 * The parts (launching, endings, cancels, two-phase, recovery) reach each other through `EngineSteps`, so no
 * part imports another.
 */
import type { NormalizedExperimentSpec } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import type { DataLayout } from '../logs/layout.js';
import type { LogTailer } from '../logs/tailer.js';
import type { ExecutorRecord, TrialRecord, TrialStore } from '../trials/store.js';
import { Durable } from './durable.js';
import type { EventBus } from './events.js';
import type { CodeMaterializer } from './launch-specs.js';
import type { Launcher } from './launcher.js';
import { planExecutors, type ExecutorPlan } from './plan.js';
import type { Placement } from './scheduler.js';
import type { TrialLifecycle } from './trial-lifecycle.js';
import { within } from './within.js';

export interface OrchestratorOptions {
  layout: DataLayout;
  launcher: Launcher;
  tailer: LogTailer;
  experiments: ExperimentStore;
  trials: TrialStore;
  bus: EventBus;
  /** The dockerImage of a stored environment, for PERISCOPE_IMAGE (processes run locally, images are informative). */
  storedImage(name: string): Promise<string | null>;
  code: CodeMaterializer | undefined;
  /** SIGTERM → SIGKILL grace period when stopping executors (default 10 s). */
  graceMs: number;
  /** The URL executors reach the API on (known once the server listens). */
  apiUrl(): string;
  /** A PEM file executors trust the API's certificate with (self-signed HTTPS). */
  apiCaFile?(): string | undefined;
  /** Executors' task-scoped tokens (PERISCOPE_TOKEN); absent, executors get none. */
  taskTokens?: TaskTokens;
  log: FastifyBaseLogger;
}

export interface TaskTokens {
  /** A token acting as `owner` on this trial only. */
  issue(owner: string, trialId: number, experimentId: string): Promise<string>;
  /** The trial has ended: its tokens are dead. */
  revoke(trialId: number): Promise<void>;
}

export type Mode = 'running' | 'failing' | 'canceling';

/** A trial whose executors were started (or are being): what its exits are measured against. */
export interface ActiveTrial {
  trial: TrialRecord;
  experimentId: string;
  executors: Map<string, ExecutorRecord>;
  ended: Set<string>;
  mode: Mode;
  failure: string | null;
  /** Ps replicas we stop once every other executor has succeeded (they never exit by themselves in TF). */
  stoppingPs: Set<string>;
  /** Executors asked to stop on their own: their end is recorded as Canceled and fails nothing. */
  cancelRequested: Set<string>;
}

export function activeTrial(trial: TrialRecord, experimentId: string, executors: ExecutorRecord[]): ActiveTrial {
  return {
    trial,
    experimentId,
    executors: new Map(executors.map((e) => [e.name, e])),
    ended: new Set(),
    mode: 'running',
    failure: null,
    stoppingPs: new Set(),
    cancelRequested: new Set(executors.filter((e) => e.cancelRequested).map((e) => e.name)),
  };
}

/** Why a code sync was aborted: the reason given to abort(), in words. */
export function abortMessage(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'Canceled by request.';
}

export function isSearch(experiment: ExperimentRecord): boolean {
  return experiment.spec.searcher != null;
}

/** The steps one part of the orchestrator asks of another. */
export interface EngineSteps {
  enqueue(trial: TrialRecord, plans: ExecutorPlan[]): Promise<void>;
  /** Launches whatever the scheduler can place now. */
  pump(): void;
  launch(placement: Placement): Promise<void>;
  failLaunch(trialId: number, error: unknown): Promise<void>;
  conclude(active: ActiveTrial): Promise<void>;
  finish(active: ActiveTrial, ended: 'Succeeded' | 'Failed' | 'Canceled', message: string | null): Promise<void>;
  prepareTrial(trial: TrialRecord, plans: ExecutorPlan[]): Promise<void>;
}

export class Engine {
  readonly active = new Map<number, ActiveTrial>();
  readonly byExecutor = new Map<string, number>();
  /** Trials whose engine places the executors itself: where each runs is recorded when it starts. */
  readonly placedByEngine = new Set<number>();
  /** Of those, the ones whose trial message says why they wait (cleared when an executor starts). */
  readonly waiting = new Set<number>();
  /** Cancels waiting for a trial to end (more than one may wait: a user's and the reconciler's). */
  readonly settled = new Map<number, (() => void)[]>();
  readonly durable: Durable;
  /** Trials whose work dir was synced by prepare() and must not be synced again at launch. */
  readonly prepared = new Set<number>();
  /**
   * Trials between the start of their code sync and their launch: a cancel aborts the sync at once rather
   * than waiting (on the trial's chain) for a slow clone, and nothing is launched after it.
   */
  readonly syncing = new Map<number, AbortController>();
  /** Experiments being canceled, with how many cancels of each are under way. */
  readonly canceling = new Map<string, number>();
  private readonly chains = new Map<number, Promise<void>>();
  /** Set once by the orchestrator, which builds the parts. */
  steps!: EngineSteps;

  constructor(
    readonly o: OrchestratorOptions,
    readonly lifecycle: TrialLifecycle,
  ) {
    this.durable = new Durable(o.log);
  }

  /** Runs `work` after every earlier change to the trial: changes to one trial are applied one at a time. */
  serial<T>(trialId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(trialId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(trialId, tail);
    void tail.then(() => {
      if (this.chains.get(trialId) === tail) this.chains.delete(trialId);
    });
    return next;
  }

  /** True while a change to the trial is under way or waiting. */
  busy(trialId: number): boolean {
    return this.chains.has(trialId);
  }

  /** Resolves when the changes under way now have run (every trial's chain), or after `ms`, whichever is first. */
  async quiesce(ms: number): Promise<void> {
    await within(ms, Promise.all(this.chains.values()));
  }

  /** The experiment as a trial's run sees it: with the spec the trial was created with (a PATCH applies to the next run). */
  async runOf(trial: TrialRecord): Promise<ExperimentRecord | undefined> {
    const experiment = await this.o.experiments.get(trial.experimentId);
    return experiment && trial.runSpec ? { ...experiment, spec: trial.runSpec } : experiment;
  }

  async plan(experimentId: string, trialNumber: number, spec: NormalizedExperimentSpec): Promise<ExecutorPlan[]> {
    const stored = spec.environment.name ? await this.o.storedImage(spec.environment.name) : null;
    return planExecutors(experimentId, trialNumber, spec, stored);
  }

  /** Registers a trial's code sync for cancels to abort; one already asked for aborts it before it begins. */
  startSync(trial: TrialRecord): AbortController {
    const controller = new AbortController();
    this.syncing.set(trial.id, controller);
    if (this.canceling.has(trial.experimentId)) controller.abort('Canceled by request.');
    return controller;
  }

  endSync(trialId: number, controller: AbortController): void {
    if (this.syncing.get(trialId) === controller) this.syncing.delete(trialId);
  }

  /** The executors of a trial that have not ended. */
  remaining(active: ActiveTrial): string[] {
    return [...active.executors.keys()].filter((n) => !active.ended.has(n));
  }

  async stopRemaining(active: ActiveTrial): Promise<void> {
    await this.o.launcher.cancel(this.remaining(active), this.o.graceMs);
  }
}
