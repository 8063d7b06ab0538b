/** Wire schemas of the model registry. */
import Type from 'typebox';
import { Nullable } from './schemas.js';
import { RowId, Uuid } from './canonical.js';
import { Checkpoint } from './metrics.js';

const Metadata = Type.Record(Type.String(), Type.Unknown());
const Label = Type.String({ minLength: 1, maxLength: 128 });

export const MODEL_SORT_KEYS = ['name', 'description', 'creationTime', 'lastUpdatedTime', 'workspace'] as const;
export type ModelSortKey = (typeof MODEL_SORT_KEYS)[number];

export const Model = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  metadata: Metadata,
  labels: Type.Array(Type.String()),
  archived: Type.Boolean(),
  owner: Nullable(Type.String()),
  workspace: Type.String(),
  creationTime: Type.String(),
  lastUpdatedTime: Type.String(),
  numVersions: Type.Integer(),
});
export type Model = Type.Static<typeof Model>;

export const ModelVersion = Type.Object({
  model: Type.Object({ id: Type.Integer(), name: Type.String() }),
  version: Type.Integer(),
  checkpoint: Checkpoint,
  name: Nullable(Type.String()),
  comment: Nullable(Type.String()),
  notes: Nullable(Type.String()),
  metadata: Metadata,
  creationTime: Type.String(),
});
export type ModelVersion = Type.Static<typeof ModelVersion>;

export const CreateModelRequest = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^/\\s][^/]*$', description: 'Unique; no slashes.' }),
  description: Type.Optional(Type.String({ maxLength: 65536 })),
  metadata: Type.Optional(Metadata),
  labels: Type.Optional(Type.Array(Label, { maxItems: 256 })),
  workspace: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});
export type CreateModelRequest = Type.Static<typeof CreateModelRequest>;

export const PatchModelRequest = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 65536 })),
  addMetadata: Type.Optional(Metadata),
  removeMetadata: Type.Optional(Type.Array(Type.String())),
  labels: Type.Optional(Type.Array(Label, { maxItems: 256 })),
  archived: Type.Optional(Type.Boolean()),
});
export type PatchModelRequest = Type.Static<typeof PatchModelRequest>;

export const ListModelsQuery = Type.Object({
  sortBy: Type.Optional(Type.Union(MODEL_SORT_KEYS.map((k) => Type.Literal(k)) as [Type.TLiteral<ModelSortKey>, ...Type.TLiteral<ModelSortKey>[]])),
  orderBy: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  name: Type.Optional(Type.String({ maxLength: 256, description: 'Part of the name, any case.' })),
  description: Type.Optional(Type.String({ maxLength: 256, description: 'Part of the description, any case.' })),
  id: Type.Optional(RowId()),
  workspace: Type.Optional(Type.String({ maxLength: 1024, description: 'Comma-separated workspace names.' })),
  archived: Type.Optional(Type.Boolean()),
  label: Type.Optional(Type.String({ maxLength: 128 })),
});
export type ListModelsQuery = Type.Static<typeof ListModelsQuery>;

export const RegisterVersionRequest = Type.Object({
  checkpointUuid: Uuid(),
  name: Type.Optional(Type.String({ maxLength: 256 })),
  comment: Type.Optional(Type.String({ maxLength: 65536 })),
  notes: Type.Optional(Type.String({ maxLength: 65536 })),
  metadata: Type.Optional(Metadata),
});
export type RegisterVersionRequest = Type.Static<typeof RegisterVersionRequest>;
