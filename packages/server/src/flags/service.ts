import { EventEmitter } from 'node:events';
import { ValidationError } from '@periscope/core';
import type { FlagRecord, FlagStore } from './store.js';

const FLAG_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_TEXT = 64 * 1024;
/** Longest a reader may wait for a change, in seconds. */
export const MAX_WAIT_SECONDS = 60;

/**
 * Experiment-wide flags, the way executors synchronise: atomic set and increment, and a long-poll that wakes
 * as soon as the flag changes (so nobody busy-polls). Wake-ups are in-process: this server owns the flags.
 */
export class FlagService {
  private readonly changes = new EventEmitter();

  constructor(private readonly store: FlagStore) {
    this.changes.setMaxListeners(0);
  }

  async get(experimentId: string, name: string, waitFor?: number, timeoutSeconds = 30, signal?: AbortSignal): Promise<FlagRecord> {
    checkName(name);
    const key = `${experimentId}\0${name}`;
    if (waitFor === undefined) return this.store.get(experimentId, name);
    // Listen first, then read, so a change between the two is not missed.
    let wake: () => void = () => {};
    const changed = new Promise<void>((resolve) => (wake = resolve));
    this.changes.on(key, wake);
    try {
      const current = await this.store.get(experimentId, name);
      if (current.version > waitFor) return current;
      const seconds = Math.min(Math.max(timeoutSeconds, 0), MAX_WAIT_SECONDS);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        changed,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, seconds * 1000);
          signal?.addEventListener('abort', () => resolve(), { once: true });
        }),
      ]);
      clearTimeout(timer);
      return this.store.get(experimentId, name);
    } finally {
      this.changes.off(key, wake);
    }
  }

  list(experimentId: string): Promise<FlagRecord[]> {
    return this.store.list(experimentId);
  }

  async set(experimentId: string, name: string, values: { textValue?: string | null; intValue?: number | null }): Promise<FlagRecord> {
    checkName(name);
    if (values.textValue != null && values.textValue.length > MAX_TEXT) throw new ValidationError(`textValue: longer than ${MAX_TEXT} characters`, 'textValue');
    const record = await this.store.set(experimentId, name, values.textValue ?? null, values.intValue ?? null);
    this.changes.emit(`${experimentId}\0${name}`);
    return record;
  }

  async increment(experimentId: string, name: string, by: number): Promise<FlagRecord> {
    checkName(name);
    const record = await this.store.increment(experimentId, name, by);
    this.changes.emit(`${experimentId}\0${name}`);
    return record;
  }
}

function checkName(name: string): void {
  if (!FLAG_NAME.test(name)) throw new ValidationError(`flag name "${name}" must be 1-128 letters, digits, '_', '.' or '-'`, 'name');
}
