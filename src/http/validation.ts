/**
 * Request validation: JSON bodies, path parameters and headers are taken as sent (no "true" -> true coercion, no
 * unknown field silently dropped), while a query string, which only has text, has its numbers and booleans coerced
 * to the schema's types, so that `limit` is an integer in the schema and the OpenAPI document alike.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

const compilers = AjvCompiler();

/** Fastify's validator factory, with the coercion rule above per part of the request. */
export const buildValidator: BuildValidator = (externalSchemas, options) => {
  const base = (options ?? {}) as { customOptions?: Record<string, unknown> };
  const withCoercion = (coerceTypes: boolean) =>
    compilers(externalSchemas, { ...base, customOptions: { ...base.customOptions, coerceTypes, removeAdditional: false } } as never);
  const strict = withCoercion(false);
  const query = withCoercion(true);
  return (route) => (route.httpPart === 'querystring' ? query(route) : strict(route));
};
