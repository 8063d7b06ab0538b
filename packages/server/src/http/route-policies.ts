/**
 * Who may call each route: the one table the auth hook enforces and the authorization tests are generated
 * from. A route missing here stops the server at startup, so no route can ship without a decision.
 */

/** `public`: anyone; `user`: any logged-in user (and then the resource checks); `admin`: admins only. */
export type Access = 'public' | 'user' | 'admin';

/**
 * The resource a path parameter names, checked against the caller. Private kinds (experiment, trial,
 * checkpoint) answer 404 to other users, as if they did not exist; shared kinds (model, environment) may be
 * read by every user, and changed (`write`) only by their owner or an admin (403).
 */
export type ResourceKind = 'experiment' | 'trial' | 'checkpoint' | 'model' | 'environment' | 'determined-experiment';

export interface RoutePolicy {
  access: Access;
  resource?: { kind: ResourceKind; param: string; write?: boolean };
  /** An executor's task token may call it, for its own trial (`trial`) or its experiment (`experiment`). */
  task?: 'trial' | 'experiment';
  /** HTTP Basic is taken besides a bearer token (the netunicorn face: its 0.3 clients send nothing else). */
  basic?: true;
}

const user: RoutePolicy = { access: 'user' };
const experiment = (write = false): RoutePolicy => ({ access: 'user', resource: { kind: 'experiment', param: 'id', write } });
const trial: RoutePolicy = { access: 'user', resource: { kind: 'trial', param: 'id' } };
const checkpoint: RoutePolicy = { access: 'user', resource: { kind: 'checkpoint', param: 'uuid' } };
const model = (write = false): RoutePolicy => ({ access: 'user', resource: { kind: 'model', param: 'model', write } });
const determinedExperiment: RoutePolicy = { access: 'user', resource: { kind: 'determined-experiment', param: 'id' } };
const netunicorn: RoutePolicy = { access: 'user', basic: true };
/** The executors' side of the netunicorn face: its path's secret (the trial's task token) is checked by the route. */
const gateway: RoutePolicy = { access: 'public' };
const environment = (write = false): RoutePolicy => ({ access: 'user', resource: { kind: 'environment', param: 'name', write } });

export const ROUTE_POLICIES: Readonly<Record<string, RoutePolicy>> = {
  'GET /api/v1/health': { access: 'public' },
  'POST /api/v1/auth/login': { access: 'public' },
  'POST /api/v1/auth/logout': user,
  'POST /api/v1/auth/session': { access: 'public' },
  'DELETE /api/v1/auth/session': user,
  'GET /api/v1/me': user,
  'GET /api/v1/users': { access: 'admin' },
  'POST /api/v1/users': { access: 'admin' },
  'GET /api/v1/users/:username': { access: 'admin' },
  'PATCH /api/v1/users/:username': { access: 'admin' },

  'POST /api/v1/experiment': user,
  'GET /api/v1/experiment': user,
  'GET /api/v1/experiment/ping': user,
  'GET /api/v1/experiment/tensorboard': user,
  'GET /api/v1/experiment/mlflow': user,
  'GET /api/v1/experiment/logs': user,
  'GET /api/v1/experiment/logs/:id': experiment(),
  'GET /api/v1/experiment/:id': experiment(),
  'PATCH /api/v1/experiment/:id': experiment(true),
  'DELETE /api/v1/experiment/:id': experiment(true),
  'POST /api/v1/experiment/:id/cancel': experiment(true),
  'POST /api/v1/experiment/:id/start': experiment(true),
  'GET /api/v1/experiment/:id/checkpoints/top': experiment(),
  'GET /api/v1/experiment/:id/trials': experiment(),
  'GET /api/v1/experiment/:id/flags': { ...experiment(), task: 'experiment' },
  'GET /api/v1/experiment/:id/flags/:name': { ...experiment(), task: 'experiment' },
  'PUT /api/v1/experiment/:id/flags/:name': { ...experiment(true), task: 'experiment' },
  'POST /api/v1/experiment/:id/flags/:name/increment': { ...experiment(true), task: 'experiment' },

  // Execution names are per user: the service looks a name up among the caller's own experiments.
  'GET /api/v1/executions': user,
  'PUT /api/v1/executions/:name': user,
  'GET /api/v1/executions/:name': user,
  'DELETE /api/v1/executions/:name': user,
  'POST /api/v1/executions/:name/start': user,
  'POST /api/v1/executions/:name/cancel': user,
  'POST /api/v1/executors/cancel': user,

  'POST /api/v1/environment': user,
  'GET /api/v1/environment': user,
  'GET /api/v1/environment/:name': environment(),
  'PATCH /api/v1/environment/:name': environment(true),
  'DELETE /api/v1/environment/:name': environment(true),

  'GET /api/v1/trials/:id': { ...trial, task: 'trial' },
  'GET /api/v1/trials/:id/logs': trial,
  'POST /api/v1/trials/:id/metrics': { ...trial, task: 'trial' },
  'GET /api/v1/trials/:id/metrics': { ...trial, task: 'trial' },
  'POST /api/v1/trials/:id/checkpoints': { ...trial, task: 'trial' },
  'GET /api/v1/trials/:id/checkpoints': { ...trial, task: 'trial' },
  'GET /api/v1/trials/:id/searcher': { ...trial, task: 'trial' },

  'GET /api/v1/checkpoints/:uuid': checkpoint,
  'DELETE /api/v1/checkpoints/:uuid': checkpoint,
  'PATCH /api/v1/checkpoints/:uuid/metadata': checkpoint,
  'GET /api/v1/checkpoints/:uuid/download': checkpoint,

  // Content-addressed: knowing the digest is the capability, as with any upload the caller made.
  'PUT /api/v1/code/:sha256': user,
  'GET /api/v1/code/:sha256': user,

  'POST /api/v1/models': user,
  'GET /api/v1/models': user,
  'GET /api/v1/models/labels': user,
  'GET /api/v1/models/:model': model(),
  'PATCH /api/v1/models/:model': model(true),
  'DELETE /api/v1/models/:model': model(true),
  'POST /api/v1/models/:model/versions': model(true),
  'GET /api/v1/models/:model/versions': model(),
  'GET /api/v1/models/:model/versions/:version': model(),
  'DELETE /api/v1/models/:model/versions/:version': model(true),

  'GET /api/v1/nodes': user,

  // The dashboard's reads: each caller sees their own experiments (admins everyone's); a followed experiment
  // is checked against the caller by the route.
  'GET /api/v1/experiments': user,
  'GET /api/v1/events': user,

  // The Determined face (determined/routes.ts): the same resources under their Determined names. Experiments
  // are named by their integer id; checkpoints named in a DELETE body are checked by the route.
  'GET /determined/info': { access: 'public' },
  'POST /determined/api/v1/auth/login': { access: 'public' },
  'POST /determined/api/v1/auth/logout': user,
  'GET /determined/api/v1/me': user,
  'POST /determined/api/v1/experiments': user,
  'GET /determined/api/v1/experiments/:id': determinedExperiment,
  'DELETE /determined/api/v1/experiments/:id': { ...determinedExperiment, resource: { kind: 'determined-experiment', param: 'id', write: true } },
  'GET /determined/api/v1/experiments/:id/trials': determinedExperiment,
  'GET /determined/api/v1/experiments/:id/checkpoints': determinedExperiment,
  'GET /determined/api/v1/trials/:id': trial,
  'GET /determined/api/v1/trials/:id/logs': trial,
  'GET /determined/api/v1/trials/:id/checkpoints': trial,
  'GET /determined/api/v1/checkpoints/:uuid': checkpoint,
  'POST /determined/api/v1/checkpoints/:uuid/metadata': checkpoint,
  'DELETE /determined/api/v1/checkpoints': user,
  'GET /determined/checkpoints/:uuid': checkpoint,
  'POST /determined/api/v1/models': user,
  'GET /determined/api/v1/models': user,
  'GET /determined/api/v1/model/labels': user,
  'GET /determined/api/v1/models/:model': model(),
  'PATCH /determined/api/v1/models/:model': model(true),
  'DELETE /determined/api/v1/models/:model': model(true),
  'POST /determined/api/v1/models/:model/archive': model(true),
  'POST /determined/api/v1/models/:model/unarchive': model(true),
  'POST /determined/api/v1/models/:model/versions': model(true),
  'GET /determined/api/v1/models/:model/versions': model(),
  'GET /determined/api/v1/models/:model/versions/:version': model(),

  // The netunicorn face (netunicorn/face-routes.ts): executions by name, which are per user, so another
  // user's name is simply not found; the token comes from its form login.
  'POST /netunicorn/api/v1/token': { access: 'public' },
  'GET /netunicorn/api/v1/verify_token': netunicorn,
  'GET /netunicorn/api/v1/health': { access: 'public' },
  'GET /netunicorn/api/v1/nodes': netunicorn,
  'GET /netunicorn/api/v1/experiment': netunicorn,
  'GET /netunicorn/api/v1/experiment/:name': netunicorn,
  'DELETE /netunicorn/api/v1/experiment/:name': netunicorn,
  'POST /netunicorn/api/v1/experiment/:name/prepare': netunicorn,
  'POST /netunicorn/api/v1/experiment/:name/start': netunicorn,
  'POST /netunicorn/api/v1/experiment/:name/cancel': netunicorn,
  'GET /netunicorn/api/v1/experiment/:name/flag/:flag': netunicorn,
  'POST /netunicorn/api/v1/experiment/:name/flag/:flag': netunicorn,
  'POST /netunicorn/api/v1/executors/cancel': netunicorn,
  'GET /netunicorn/gateway/:secret/api/v1/executor/execution_graph': gateway,
  'GET /netunicorn/gateway/:secret/api/v1/executor/pipeline': gateway,
  'POST /netunicorn/gateway/:secret/api/v1/executor/result': gateway,
  'GET /netunicorn/gateway/:secret/api/v1/experiment/:id/flag/:flag': gateway,
  'POST /netunicorn/gateway/:secret/api/v1/experiment/:id/flag/:flag': gateway,
  'POST /netunicorn/gateway/:secret/api/v1/experiment/:id/flag/:flag/increment': gateway,
  'POST /netunicorn/gateway/:secret/api/v1/experiment/:id/flag/:flag/decrement': gateway,
};

/** Whether a route is the API's (held to this table): Periscope's own and the Determined and netunicorn faces'. */
export function isApiRoute(url: string): boolean {
  return url.startsWith('/api/v1/') || url.startsWith('/determined/') || url.startsWith('/netunicorn/');
}

/** The policy of a route, by method and Fastify path; HEAD shares GET's. */
export function policyOf(method: string, url: string): RoutePolicy | undefined {
  return ROUTE_POLICIES[`${method === 'HEAD' ? 'GET' : method} ${url}`];
}
