/** A trial's followed log (`…/logs?follow=true`): its line events with their ids, until `end`. */
import type { LogLine } from '@periscope/core';
import { readServerSentEvents } from './sse.js';

export async function* readFollowedLines(body: ReadableStream<Uint8Array>, trialId: number, signal?: AbortSignal): AsyncGenerator<LogLine & { id: string }, void> {
  for await (const event of readServerSentEvents(body, signal)) {
    if (event.event === 'end') return;
    if (event.event === 'error') throw new Error(`trial ${trialId} logs: ${(JSON.parse(event.data) as { message: string }).message}`);
    yield { ...(JSON.parse(event.data) as LogLine), id: event.id };
  }
}
