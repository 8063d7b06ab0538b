/**
 * What the web dashboard reads beyond the Submarine wire: one row per experiment for its list (owner, framework
 * and best metric, which Submarine's Experiment does not carry), and the live events it redraws from.
 */
import Type from 'typebox';
import { User } from './auth.js';
import { Nullable, SubmarineStatusSchema, NullableTime } from './schemas.js';

export const ExperimentSummary = Type.Object({
  experimentId: Type.String(),
  name: Type.String(),
  status: SubmarineStatusSchema,
  owner: Type.String(),
  framework: Nullable(Type.String({ description: "The spec's environment framework or its first role's, e.g. TensorFlow, PyTorch." })),
  tags: Type.Array(Type.String()),
  acceptedTime: NullableTime,
  createdTime: NullableTime,
  runningTime: NullableTime,
  finishedTime: NullableTime,
  message: Nullable(Type.String({ description: 'Why it failed or was canceled, when it did.' })),
  trials: Type.Integer(),
  searcher: Nullable(Type.String({ description: 'single, grid, random or adaptive_asha; null for a plain experiment.' })),
  bestMetric: Nullable(
    Type.Object({
      name: Type.String(),
      value: Type.Number(),
      smallerIsBetter: Type.Boolean(),
    }),
  ),
});
export type ExperimentSummary = Type.Static<typeof ExperimentSummary>;

export const ListSummariesQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 32, description: 'Submarine status, any case.' })),
  name: Type.Optional(Type.String({ maxLength: 200, description: 'Only names containing this text (any case).' })),
  owner: Type.Optional(Type.String({ maxLength: 64, description: 'Only experiments of this user (others than your own: admin only).' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Page size (default 50).' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Cursor: the `nextCursor` attribute of the previous (newer) page.' })),
});
export type ListSummariesQuery = Type.Static<typeof ListSummariesQuery>;

export const EventsQuery = Type.Object({
  experiment: Type.Optional(Type.String({ maxLength: 64, description: "Only this experiment, with its trials' events too." })),
});

export type TrialChange = 'moved' | 'pending' | 'executor' | 'metrics' | 'checkpoint';

/** One event of `GET /api/v1/events` (its SSE `event:` is `type`, its `data:` this object as JSON). */
export type DashboardEvent =
  | { type: 'experiment'; experiment: ExperimentSummary }
  | { type: 'deleted'; experimentId: string }
  | { type: 'trial'; experimentId: string; trialId: number; what: TrialChange };

export const BrowserSession = Type.Object({
  user: User,
  /** Echo as the `x-csrf-token` header on every request that changes something (also in the `periscope_csrf` cookie). */
  csrfToken: Type.String(),
  expiresTime: Type.String(),
});
export type BrowserSession = Type.Static<typeof BrowserSession>;
