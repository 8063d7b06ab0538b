#!/usr/bin/env node
// The `periscope` command. The sources are TypeScript run as they are (no build step): register tsx's loader
// for this process, then load the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
