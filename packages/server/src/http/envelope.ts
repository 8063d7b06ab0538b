import { reasonOf, type EnvelopeOf } from '@periscope/core';

/** Submarine's success envelope, fields in its order. */
export function ok<T>(result: T, attributes: Record<string, unknown> = {}): EnvelopeOf<T> {
  return { status: 'OK', code: 200, success: true, message: null, result, attributes };
}

/** Submarine's error envelope: `success` and `result` null, HTTP status equal to `code`. */
export function failure(httpStatus: number, message: string): EnvelopeOf<null> {
  return { status: reasonOf(httpStatus), code: httpStatus, success: null, message, result: null, attributes: {} };
}
