/**
 * One real service per describe block: started before the block's tests and stopped after them, plus the two request
 * shapes the service suites send through inject().
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { startService, type Driver, type StartOptions, type TestService } from './service.js';

/**
 * Registers beforeAll/afterAll in the calling describe block and returns the service they start. The returned object
 * stands for it from the first hook on: `svc.app`, `svc.db`... reach the running service; used outside the block's
 * tests and hooks, it throws.
 */
export function serviceForSuite(driver: Driver, options: StartOptions = {}): TestService {
  let running: TestService | undefined;
  beforeAll(async () => {
    running = await startService(driver, options);
  });
  afterAll(async () => {
    await running?.stop();
  });
  return new Proxy({} as TestService, {
    get(_target, key) {
      if (running === undefined) throw new Error(`the ${driver} service of this suite is not running (read outside its tests?)`);
      const value: unknown = Reflect.get(running, key);
      return typeof value === 'function' ? value.bind(running) : value;
    },
  });
}

/** The requests the suites send: `post` with a JSON content type whatever the payload (strings go as they are). */
export function requestsTo(svc: TestService): {
  post(url: string, payload: unknown): Promise<LightMyRequestResponse>;
  call(method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown): Promise<LightMyRequestResponse>;
} {
  return {
    post: (url, payload) =>
      svc.app.inject({ method: 'POST', url, payload: payload as string, headers: { 'content-type': 'application/json' } }),
    call: (method, url, payload) => svc.app.inject({ method, url, ...(payload !== undefined && { payload: payload as string }) }),
  };
}
