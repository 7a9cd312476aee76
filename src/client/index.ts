/**
 * A typed client of the mastery service (`bkt-engine/client`): openapi-fetch over the types generated from the
 * service's OpenAPI document, so that paths, bodies, query parameters and responses are checked at compile time.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './api-types.js';

export type { components, operations, paths } from './api-types.js';

/** The named schemas of the API: `Schemas['UpdateResult']`, `Schemas['Error']`, ... */
export type Schemas = components['schemas'];

/** The client: `client.POST('/api/bkt/update', { body })` returns `{ data }` on success and `{ error }` otherwise. */
export type BktClient = Client<paths>;

/** Where the service is and how to authenticate. */
export interface BktClientOptions {
  /** The service's base URL, e.g. http://127.0.0.1:3000. */
  readonly baseUrl: string;
  /** A service or admin bearer token (omit when the service runs without tokens, on loopback). */
  readonly token?: string;
  /** Extra headers sent with every request (an x-request-id of your own, for example). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A client of the service at `baseUrl`, sending the bearer token with every request. */
export function createBktClient(options: BktClientOptions): BktClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }), ...options.headers },
  });
}
