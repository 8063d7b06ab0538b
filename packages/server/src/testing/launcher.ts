import type { ExecutorExit, Launcher } from '../execution/launcher.js';

/** The next end the launcher reports for this executor. */
export function exitOf(launcher: Launcher, name: string): Promise<ExecutorExit> {
  return new Promise((resolve) => {
    const listener = (exit: ExecutorExit) => {
      if (exit.name !== name) return;
      launcher.off('exited', listener);
      resolve(exit);
    };
    launcher.on('exited', listener);
  });
}
