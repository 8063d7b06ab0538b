/**
 * The V8 flags the server runs under, wherever it starts: `npm start`, the packages' bins (their `#!` line) and the
 * bench. V8 grows the young generation to 2 × 16 MB semi-spaces during start-up and never gives them back, though
 * an idle server uses a few MB of them; at 4 MB each the idle server's RSS is ~23 MB smaller (bench/README.md has
 * the rows, and what it costs the request paths). These flags cannot be set from inside the process: V8 sizes the
 * heap before any script runs.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=4'];

/** The `#!` line of a bundled bin that may run the server (`env -S` splits the flags from the interpreter). */
export const SERVER_SHEBANG = `#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`;
