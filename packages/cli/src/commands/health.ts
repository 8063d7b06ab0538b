/** `periscope health`: is the server up, its store reachable and its launcher ready? Exit 0, 1 or 3. */
import { PeriscopeApiError } from '@periscope/sdk';
import type { Command } from 'commander';
import { Context } from '../context.js';
import { CommandFailure, EXIT } from '../exit-codes.js';
import { duration } from '../output/time.js';

export function healthCommand(parent: Command): Command {
  return parent
    .command('health')
    .description("Check the server's health: exit 0 if healthy, 1 if it answers that it is not, 3 if it does not answer.")
    .action(async (_flags: object, command: Command) => {
      const ctx = Context.of(command);
      let report;
      try {
        report = await ctx.periscope.health();
      } catch (error) {
        // The server answered, and not with health: unhealthy (its reason), or not a Periscope server.
        if (!(error instanceof PeriscopeApiError)) throw error;
        if (ctx.json) ctx.printJson({ status: 'unhealthy', message: error.message, code: error.code });
        throw new CommandFailure(ctx.json ? '' : `${ctx.master()} is unhealthy: ${error.message}`, EXIT.FAILED);
      }
      if (ctx.json) return ctx.printJson(report);
      const { launcher } = report;
      ctx.print(
        [
          `${ctx.out.status('healthy')}: Periscope ${report.version}`,
          report.database,
          `${launcher.kind} launcher with ${launcher.nodes} node${launcher.nodes === 1 ? '' : 's'}`,
          `${launcher.runningTrials} running, ${launcher.queuedTrials} queued`,
          `up ${duration(report.uptimeSeconds * 1000)}`,
        ].join(' · '),
      );
    });
}
