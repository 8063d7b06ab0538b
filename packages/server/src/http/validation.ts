/**
 * The request validator: TypeBox's check, after giving each value its one canonical spelling, so that the
 * authorization hook, the handler and the database all see the same id.
 *
 * - Path and query strings become integers only when written as plain decimal digits (a leading minus
 *   allowed, at most 15 digits): `2.0`, `+2`, `2e0`, ` 2`, `0x2` and `02` are refused, not read as 2.
 * - Properties whose schema says `x-canonical: lowercase` (uuids) are lower-cased, in paths, queries and bodies.
 * - No string, and no key, may hold a NUL character anywhere in a request: PostgreSQL cannot store one (SQLite
 *   can), and both databases must answer the same 400.
 */
import { CANONICAL } from '@periscope/core';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

const DIGITS = /^(0|-?[1-9][0-9]{0,14})$/;

interface Shape {
  /** Top-level properties declared as integers. */
  integers: Set<string>;
  /** Top-level properties to lower-case. */
  lowercase: Set<string>;
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  // Compiled on the route's first request: most routes of a server are never called, and their compiled
  // checks were a few MB of an idle server's memory (bench/README.md, idle RSS).
  let check: ReturnType<typeof Compile<TSchema>> | undefined;
  let shape: Shape | undefined;
  const fromText = httpPart !== 'body';
  return (value): { value: unknown } | { error: FastifySchemaValidationError[] } => {
    check ??= Compile(schema);
    shape ??= shapeOf(schema);
    const refusal = nulIn(value) ?? (fromText ? misspelledInteger(value, shape) : undefined);
    if (refusal) return { error: [refusal] };
    const converted = fromText ? Value.Convert(schema, value) : value;
    lowerCase(converted, shape);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) as unknown as FastifySchemaValidationError[] };
  };
};

function shapeOf(schema: TSchema): Shape {
  const shape: Shape = { integers: new Set(), lowercase: new Set() };
  const visit = (node: Record<string, unknown>) => {
    for (const part of (node.allOf as Record<string, unknown>[] | undefined) ?? []) visit(part);
    const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, property] of Object.entries(properties)) {
      const alternatives = [property, ...((property.anyOf as Record<string, unknown>[] | undefined) ?? [])];
      if (alternatives.some((a) => a.type === 'integer')) shape.integers.add(name);
      if (alternatives.some((a) => a[CANONICAL] === 'lowercase')) shape.lowercase.add(name);
    }
  };
  visit(schema as Record<string, unknown>);
  return shape;
}

function refusal(path: string, message: string): FastifySchemaValidationError {
  return { keyword: 'canonical', instancePath: path, schemaPath: '', params: {}, message };
}

function misspelledInteger(value: unknown, shape: Shape): FastifySchemaValidationError | undefined {
  if (shape.integers.size === 0 || value === null || typeof value !== 'object') return undefined;
  for (const name of shape.integers) {
    const text = (value as Record<string, unknown>)[name];
    if (typeof text === 'string' && !DIGITS.test(text)) return refusal(`/${name}`, 'must be a whole number written in plain digits');
  }
  return undefined;
}

/** The first NUL in a string or key of the value, walked without recursion (a body may nest deeply). */
function nulIn(value: unknown): FastifySchemaValidationError | undefined {
  const pending: Array<[unknown, string]> = [[value, '']];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      if (item.includes('\0')) return refusal(path, 'must not contain NUL characters');
    } else if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) pending.push([item[i], `${path}/${i}`]);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\0')) return refusal(path, 'must not have a key with NUL characters');
        pending.push([child, `${path}/${key}`]);
      }
    }
  }
  return undefined;
}

function lowerCase(value: unknown, shape: Shape): void {
  if (shape.lowercase.size === 0 || value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const name of shape.lowercase) {
    const text = record[name];
    if (typeof text === 'string') record[name] = text.toLowerCase();
  }
}
