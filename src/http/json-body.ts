/**
 * The JSON body parser: a linear scan refuses bodies nested deeper than any schema allows before JSON.parse builds
 * them (a megabyte of `[[[[...` otherwise costs seconds of event loop and hundreds of megabytes), then Fastify's own
 * parser (which refuses `__proto__` and `constructor.prototype` keys) does the rest.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

/** The deepest body any route takes is 4 levels ({responses: [{...}]}, parameter bodies); 16 leaves room, refuses abuse. */
export const MAX_JSON_DEPTH = 16;

/** The nesting depth of a JSON text, stopping as soon as it passes `limit` (strings are skipped, escapes honoured). */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Replaces application/json's parser on `app` with the depth-checked one. */
export function registerJsonParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepthExceeds(text, maxDepth)) {
      done(new HttpError('invalid_json', `the body nests deeper than ${maxDepth} levels, more than any route accepts`), undefined);
      return;
    }
    parse(request, text, done);
  });
}
