/**
 * Following an experiment's logs over the server's stream: each trial's `GET /trials/{id}/logs?follow=true`
 * (Server-Sent Events, one `data:` per line, `event: end` once the trial has ended and its logs are complete),
 * trial after trial until the experiment ends. A server without that route (a real Submarine server answers
 * NOT_FOUND for the trials of an experiment) is polled instead.
 *
 * Each line event's id is the cursor just past it: a reconnect sends the last one as `after` and the stream
 * resumes there. A server that sends no ids replays the trial's log from the start instead; lines already
 * yielded are then recognised by their byte offset in their (executor, stream) and skipped. Offsets only grow
 * within a stream, so the highest one seen per stream is all that needs keeping.
 */
import type { Experiment, LogLine, Trial } from '@periscope/core';
import { isNotFound, PeriscopeApiError } from './errors.js';
import { masterPod } from './master-pod.js';
import { readServerSentEvents } from './sse.js';
import { path, sleep, type CallOptions, type Transport } from './transport.js';
import { isFinal, pollLogs, type ExperimentReader, type FollowEnd, type FollowLogsOptions, type PodLogLine } from './wait.js';

/** What following needs besides the stream: the experiment, its logs (for polling) and its trials. */
export interface TrialReader extends ExperimentReader {
  trials(id: string, options?: CallOptions): Promise<Trial[]>;
}

const TRIAL_ENDED: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Canceled']);

export async function* followLogs(reader: TrialReader, transport: Transport, id: string, options: FollowLogsOptions = {}): AsyncGenerator<PodLogLine, FollowEnd> {
  const { signal } = options;
  const call = signal ? { signal } : {};
  const interval = options.pollIntervalMs ?? 500;

  // A wrong id is NOT_FOUND here, before anything was seen.
  let status: Experiment['status'] = (await reader.get(id, call)).status;
  let trials: Trial[];
  try {
    trials = await reader.trials(id, call);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (!(await exists(reader, id, call))) return { status: 'Deleted' };
    // The experiment is there but its trials are not: a server that only speaks Submarine's API.
    return yield* pollLogs(reader, id, options);
  }

  const stream = new TrialStream(transport, options);
  // `tail` is about the lines that exist when following begins: those of the trials already there.
  const existing = new Set(trials.map((t) => t.id));
  const followed = new Set<number>();
  for (;;) {
    // Oldest first; a trial followed to its end comes back only if it was queued again since.
    const next = trials
      .filter((t) => !followed.has(t.id) || !TRIAL_ENDED.has(t.state))
      .sort((a, b) => a.number - b.number || a.id - b.id)[0];
    if (next) {
      yield* stream.follow(next, existing.has(next.id) ? options.tail : undefined);
      followed.add(next.id);
    } else {
      if (isFinal(status)) return { status };
      await sleep(interval, signal);
    }
    try {
      // Status first, trials second: when the status is final, the trials read after it are all there is.
      status = (await reader.get(id, call)).status;
      trials = await reader.trials(id, call);
    } catch (error) {
      if (isNotFound(error)) return { status: 'Deleted' };
      throw error;
    }
  }
}

async function exists(reader: ExperimentReader, id: string, call: CallOptions): Promise<boolean> {
  try {
    await reader.get(id, call);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Where a pod's existing lines are cut for `tail`: this line and every earlier one are skipped. */
type Cutoffs = Map<string, LogLine>;

/** The lines of one trial at a time, with what must survive reconnects and trials: offsets and line numbers. */
class TrialStream {
  /** Highest offset yielded per `executor\0stream`. */
  private readonly reached = new Map<string, number>();
  /** Lines seen per pod (skipped ones included): the next line's `lineNumber`. */
  private readonly counted = new Map<string, number>();

  constructor(
    private readonly transport: Transport,
    private readonly options: FollowLogsOptions,
  ) {}

  /** Yields the trial's new lines until the server says it has ended (or the trial is gone). */
  async *follow(trial: Trial, tail: number | undefined): AsyncGenerator<PodLogLine, void> {
    const { signal } = this.options;
    const executor = this.options.onlyMaster ? masterExecutor(trial) : undefined;
    const cutoffs = tail !== undefined ? await this.cutoffs(trial, tail, executor) : new Map<string, LogLine>();
    let quiet = 0;
    let serverErrors = 0;
    /** The id of the last line event handled: where a reconnect resumes. */
    let resume = '';
    for (;;) {
      let response: Response;
      try {
        response = await this.transport.open({
          method: 'GET',
          path: path`/trials/${String(trial.id)}/logs`,
          query: { follow: true, executor, ...(resume !== '' && { after: resume }) },
          ...(signal && { signal }),
        });
      } catch (error) {
        if (isNotFound(error)) return; // the trial went with its experiment; the caller finds out which way
        throw error;
      }
      if (!response.body || !/^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '')) {
        await response.body?.cancel().catch(() => {});
        throw new PeriscopeApiError({
          httpStatus: response.status,
          code: 'INVALID_RESPONSE',
          message: `GET /api/v1/trials/${trial.id}/logs?follow=true answered ${response.headers.get('content-type') ?? 'no content type'}, not an event stream`,
          request: `GET /api/v1/trials/${trial.id}/logs`,
        });
      }
      let progressed = false;
      try {
        for await (const event of readServerSentEvents(response.body, signal)) {
          if (event.event === 'end') return;
          if (event.event === 'error') {
            // The server could not go on following; reconnecting starts over, but not forever.
            if (++serverErrors > this.transport.retries) throw new PeriscopeApiError({ httpStatus: 500, message: serverMessage(event.data), request: `GET /api/v1/trials/${trial.id}/logs` });
            break;
          }
          if (event.event !== 'message') continue;
          const line = parseLine(event.data, trial.id);
          resume = event.id;
          const key = `${line.executor}\0${line.stream}`;
          if (line.offset <= (this.reached.get(key) ?? -1)) continue; // replayed after a reconnect
          this.reached.set(key, line.offset);
          progressed = true;
          const lineNumber = this.counted.get(line.executor) ?? 0;
          this.counted.set(line.executor, lineNumber + 1);
          const cutoff = cutoffs.get(line.executor);
          if (cutoff && compareLines(line, cutoff) <= 0) continue;
          yield { podName: line.executor, lineNumber, text: line.text };
        }
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof PeriscopeApiError) throw error;
        // The connection broke mid-stream: reconnect below.
      }
      // Ended without `end` (dropped, or the server's error): reconnect, waiting longer while nothing new comes.
      quiet = progressed ? 0 : quiet + 1;
      if (progressed) serverErrors = 0;
      await sleep(this.transport.retryDelay(quiet), signal);
    }
  }

  /**
   * For `tail`: per pod, the (tail+1)-th last line as the server orders them (by time; stdout before stderr at
   * the same instant), read before the stream opens. The stream's backlog then skips it and all before it.
   */
  private async cutoffs(trial: Trial, tail: number, only: string | undefined): Promise<Cutoffs> {
    const { signal } = this.options;
    const names = only !== undefined ? [only] : trial.executors.map((e) => e.name);
    const lasts = await Promise.all(
      names.map(async (name) => {
        try {
          const answer = await this.transport.call<LogLine[]>({
            method: 'GET',
            path: path`/trials/${String(trial.id)}/logs`,
            query: { executor: name, tail: tail + 1 },
            ...(signal && { signal }),
          });
          return answer.result;
        } catch (error) {
          if (isNotFound(error)) return [];
          throw error;
        }
      }),
    );
    const cutoffs: Cutoffs = new Map();
    names.forEach((name, i) => {
      const lines = lasts[i]!;
      if (lines.length > tail) cutoffs.set(name, lines[0]!);
    });
    return cutoffs;
  }
}

/** Order of two lines of one executor: by offset within a stream; across streams by time, stdout first. */
function compareLines(a: LogLine, b: LogLine): number {
  if (a.stream === b.stream) return a.offset - b.offset;
  return Date.parse(a.time) - Date.parse(b.time) || (a.stream === 'stdout' ? -1 : 1);
}

/** The master pod of a trial (see `masterPod`), or undefined when it has no executors yet. */
function masterExecutor(trial: Trial): string | undefined {
  return masterPod({ experimentId: trial.experimentId, logContent: trial.executors.map((e) => ({ podName: e.name, podLog: [] })) })?.podName;
}

function parseLine(data: string, trialId: number): LogLine {
  let line: Partial<LogLine> | undefined;
  try {
    line = JSON.parse(data) as Partial<LogLine>;
  } catch {
    line = undefined;
  }
  if (typeof line?.executor !== 'string' || typeof line.offset !== 'number' || typeof line.text !== 'string') {
    throw new PeriscopeApiError({
      httpStatus: 200,
      code: 'INVALID_RESPONSE',
      message: `the log stream of trial ${trialId} sent a line that is not a log line: ${data.slice(0, 200)}`,
      request: `GET /api/v1/trials/${trialId}/logs`,
    });
  }
  return line as LogLine;
}

function serverMessage(data: string): string {
  try {
    const message = (JSON.parse(data) as { message?: unknown }).message;
    if (typeof message === 'string' && message) return `the server stopped following the logs: ${message}`;
  } catch {
    // not JSON: fall through
  }
  return 'the server stopped following the logs';
}
