// Import boundaries between Periscope's layers, checked by `npm run lint:deps` (part of `npm test`).
// dependency-cruiser reads the TypeScript sources themselves (tsPreCompilationDeps), so `import type` and
// `import { type X }` are seen as dependencies too and carry the dependency type 'type-only'; an inline
// `import('x').T` type carries 'type-import'. Every rule below counts both unless it says otherwise.
// Workspace packages (@periscope/core, ...) are followed through their node_modules symlinks to the real
// packages/*/src files their package.json `exports` name, so a boundary holds however a file is reached.
//
// dependency-cruiser is pinned to 17.x: 16.x parses TypeScript only below 6.0 (this repo is on 6.0) and then sees
// no .ts file at all ("0 modules cruised", a silent pass); 17.x reads TypeScript < 7 and runs on Node ^20.12;
// 18.x needs Node 22. `npx depcruise --info` shows whether the installed TypeScript is supported.

/** The HTTP layer: the Fastify plumbing in http/ and every feature's routes.ts. */
const HTTP = ['^packages/server/src/http/', '^packages/server/src/routes\\.ts$', '^packages/server/src/.*/routes\\.ts$'];
/** Launchers: what starts and watches executor processes on some kind of node. */
const LAUNCHERS = ['^packages/server/src/execution/local/', '^packages/server/src/execution/slurm/'];
/** SQL: the database layer, every feature's store, and the drivers and query builder. */
const SQL = [
  '^packages/server/src/db/',
  '^packages/server/src/store\\.ts$',
  '^packages/server/src/.*/store\\.ts$',
  '(^|/)node_modules/(kysely|pg|better-sqlite3)/',
];
const TESTS = ['\\.test\\.ts$'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycles anywhere in packages/*/src. A cycle makes load order matter (a module can see another ' +
        'half-initialised) and welds the files in it into one unit that cannot be understood, tested or moved ' +
        'apart. Type-only imports count too: dependency-cruiser does tell them apart (they are tagged type-only), ' +
        'but a type cycle is the same design knot even though it vanishes at run time, so it is not exempted. ' +
        'Break a cycle by moving the shared piece (often a type) into a module both sides import. (An import() ' +
        'of a specifier built at run time, as sdk/src/tls.ts does for tls-node.js, is invisible to any such check.)',
      from: {},
      to: { circular: true },
    },
    {
      name: 'http-not-launchers',
      severity: 'error',
      comment:
        'The HTTP layer (http/ and every routes.ts) talks to the engine (execution/, the services), never to a ' +
        'launcher: which launcher runs a job is the engine\'s choice, and a route that reached into ' +
        'execution/local would tie the API to one kind of node. Covers execution/slurm/ before it exists.',
      from: { path: HTTP },
      to: { path: LAUNCHERS },
    },
    {
      name: 'launchers-no-http-no-sql',
      severity: 'error',
      comment:
        'A launcher only starts, watches and stops executor processes and reports what it saw through the ' +
        'Launcher interface; it knows nothing of HTTP or the database. So it may not import the HTTP layer ' +
        '(http/, any routes.ts), nor fastify at run time (a type-only import of fastify, e.g. FastifyBaseLogger ' +
        'for logging, is allowed: it leaves nothing behind after compilation), nor anything SQL: db/, any ' +
        'store.ts, kysely, pg or better-sqlite3 (types included). A launcher\'s own *.test.ts files are not ' +
        'launchers and are left out (they start whole apps through src/testing).',
      from: { path: LAUNCHERS, pathNot: TESTS },
      to: { path: [...HTTP, ...SQL] },
    },
    {
      name: 'launchers-no-http-no-sql',
      severity: 'error',
      comment: 'The fastify half of the rule above: a launcher may import fastify for types only.',
      from: { path: LAUNCHERS, pathNot: TESTS },
      to: { path: '(^|/)node_modules/fastify/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment:
        '@periscope/core is the shared vocabulary (types, schemas, spec normalisation, errors) that the server, ' +
        'the SDK and the CLI all build on, and it does no I/O so it can run anywhere (browser bundles included). ' +
        'It may not import the server, the SDK or the CLI.',
      from: { path: '^packages/core/src/' },
      to: { path: '^packages/(server|sdk|cli)/' },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment:
        'The node built-ins half of core-is-pure: core\'s sources use no node built-in at all today; its tests use ' +
        'exactly node:test and node:assert/strict, which stay allowed in *.test.ts files only.',
      from: { path: '^packages/core/src/' },
      to: {
        dependencyTypes: ['core'],
        pathNot: '^(node:)?(test|assert/strict)$',
      },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core-is-pure again: core\'s non-test sources may import no node built-in at all.',
      from: { path: '^packages/core/src/', pathNot: TESTS },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'sdk-not-server',
      severity: 'error',
      comment:
        'The SDK and the CLI are clients of the server over HTTP; they must not reach into its code, or they ' +
        'could not ship without it. Exceptions, which exist today: *.test.ts files and packages/{sdk,cli}/src/' +
        'testing/** may import @periscope/server (they start real in-process servers through createApp, ' +
        'adminToken and selfSignedCertificate).',
      from: { path: '^packages/(sdk|cli)/src/', pathNot: [...TESTS, '^packages/(sdk|cli)/src/testing/', '^packages/cli/src/program\\.ts$'] },
      to: { path: '^packages/server/' },
    },
    {
      name: 'sdk-not-server',
      severity: 'error',
      comment:
        'The one other exception: the CLI\'s `periscope server` command is the server, so packages/cli/src/' +
        'program.ts may load @periscope/server, but only lazily with a dynamic import() (every other command ' +
        'starts without loading the server, which takes about a second).',
      from: { path: '^packages/cli/src/program\\.ts$' },
      to: { path: '^packages/server/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'web-is-a-browser-client',
      severity: 'error',
      comment:
        'The dashboard runs in a browser and talks to the server only over HTTP, through the SDK: it may not ' +
        'import the server\'s code, nor any node built-in (which a browser does not have).',
      from: { path: '^packages/web/src/' },
      to: { path: ['^packages/server/', '^packages/cli/'] },
    },
    {
      name: 'web-is-a-browser-client',
      severity: 'error',
      comment: 'web-is-a-browser-client again: no node built-in in the dashboard.',
      from: { path: '^packages/web/src/' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^packages/[^/]+/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Follow the workspace symlinks in node_modules/@periscope to packages/*/src, through each package.json's
    // `exports`.
    preserveSymlinks: false,
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    skipAnalysisNotInRules: true,
    cache: false,
  },
};
