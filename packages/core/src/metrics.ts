/** Wire schemas of the training-side API: metrics and checkpoints reported by trials. */
import Type from 'typebox';
import { Nullable } from './schemas.js';
import { Steps, Uuid } from './canonical.js';


export const METRIC_GROUPS = ['training', 'validation'] as const;
export type MetricGroup = (typeof METRIC_GROUPS)[number];

/**
 * JSON has no NaN or infinities, which training produces (a diverging loss): they travel as these strings, in
 * reports and in answers, and are stored as sent. They never become a trial's best or latest validation
 * value, and a searcher ranks them last.
 */
export const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;
export type MetricValue = number | (typeof NON_FINITE)[number];
export const MetricValue = Type.Union([Type.Number(), Type.Literal('NaN'), Type.Literal('Infinity'), Type.Literal('-Infinity')], { description: 'A number, or "NaN", "Infinity", "-Infinity".' });
export const MetricValues = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), MetricValue, { description: 'Metric name → value.' });

/** A metric value as a number: NaN and the infinities included. */
export function metricNumber(value: MetricValue): number {
  return typeof value === 'number' ? value : value === 'NaN' ? Number.NaN : value === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

export const ReportMetricsRequest = Type.Object({
  group: Type.Union([Type.Literal('training'), Type.Literal('validation')]),
  reports: Type.Array(Type.Object({ stepsCompleted: Steps(), metrics: MetricValues }), { minItems: 1, maxItems: 10_000 }),
});
export type ReportMetricsRequest = Type.Static<typeof ReportMetricsRequest>;

export const MetricReport = Type.Object({
  group: Type.String(),
  stepsCompleted: Type.Integer(),
  metrics: MetricValues,
  time: Type.String(),
});
export type MetricReport = Type.Static<typeof MetricReport>;

export const ReportCheckpointRequest = Type.Object({
  uuid: Uuid({ description: 'The directory under PERISCOPE_CHECKPOINT_DIR that holds its files.' }),
  stepsCompleted: Steps(),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type ReportCheckpointRequest = Type.Static<typeof ReportCheckpointRequest>;

export const Checkpoint = Type.Object({
  uuid: Type.String(),
  trialId: Type.Integer(),
  experimentId: Type.String(),
  stepsCompleted: Type.Integer(),
  state: Type.String({ description: 'COMPLETED or DELETED.' }),
  reportTime: Type.String(),
  resources: Type.Record(Type.String(), Type.Integer(), { description: 'Relative path → bytes.' }),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  training: Type.Object({
    hparams: Type.Record(Type.String(), Type.Unknown()),
    /** The validation metrics reported at the checkpoint's step, if any. */
    validationMetrics: Nullable(MetricValues),
  }),
});
export type Checkpoint = Type.Static<typeof Checkpoint>;

export const SearcherState = Type.Object({
  maxLength: Nullable(Type.Number({ description: 'Train until this length (steps or the time metric); null: no searcher budget.' })),
  shouldStop: Type.Boolean(),
});
export type SearcherState = Type.Static<typeof SearcherState>;
