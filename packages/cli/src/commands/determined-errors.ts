/** Errors of the Determined-shaped SDK calls, turned into the CLI's exit codes. */
import { DeterminedUsageError } from '@periscope/sdk';
import { CommandFailure, UsageError } from '../exit-codes.js';

/**
 * Runs `action`; a refused selection (no checkpoint has that metric, a uuid of another trial) exits 1 with the
 * SDK's message, a config or model dir that cannot be read or converted exits 2.
 */
export async function translated<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof DeterminedUsageError) throw new CommandFailure(error.message);
    if (error instanceof TypeError && /^(config|modelDir|includes): /.test(error.message)) throw new UsageError(error.message);
    // Core's conversion errors (bad YAML, contradictory searcher settings) name the field.
    if (error instanceof Error && error.name === 'ValidationError') throw new UsageError(error.message);
    throw error;
  }
}
