/** Entry point of `npm start`: the `server` command on its own. */
import { serverCommand } from './server-command.js';
import { VERSION } from './version.js';

const program = serverCommand().name('periscope-server').version(VERSION);
// Usage errors exit 2, as the CLI documents.
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
await program.parseAsync(process.argv);
