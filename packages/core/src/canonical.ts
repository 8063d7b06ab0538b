/**
 * Ids as the server sees them: one spelling each. The authorization check and the handler must agree on
 * which resource a request names, so every id is canonicalized once, at the boundary, by these schemas (the
 * server's validator honours `x-canonical`): integers in a path or query are decimal digits only, uuids are
 * lower-cased.
 */
import Type from 'typebox';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** The schema keyword that asks the validator to rewrite a string to its canonical form. */
export const CANONICAL = 'x-canonical';

/**
 * The largest id or count the API takes: within a JavaScript number's exact integers, and so within
 * PostgreSQL's bigint (a larger one would be a database error, not a 400).
 */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/** A uuid, any case on the wire, lower case from then on. */
export const Uuid = (options: { description?: string } = {}) => Type.String({ pattern: UUID_PATTERN, ...options, [CANONICAL]: 'lowercase' });

/** A row id (trial, model, version): a positive integer; in a path or query written as plain digits. */
export const RowId = (options: { description?: string } = {}) => Type.Integer({ minimum: 1, maximum: MAX_INTEGER, ...options });

/** A count of steps, batches or epochs reported by training code. */
export const Steps = (options: { description?: string; minimum?: number } = {}) => Type.Integer({ minimum: 0, maximum: MAX_INTEGER, ...options });
