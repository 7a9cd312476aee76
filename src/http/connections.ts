/**
 * Open sockets, and a shutdown that loses no request. Node's server.close() destroys idle keep-alive sockets at once,
 * so a client that has just written its next request on one sees ECONNRESET. Draining instead: stop accepting, let
 * each socket finish the request it carries with `Connection: close`, close a socket only once it has been idle for a
 * moment (or, with a request still running, at the deadline), and only then close the app.
 */
import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * A socket idle this long during a drain is closed: its client had the time to send a request and did not. Closing an
 * idle keep-alive socket races a client that picks it for its next request at that instant (HTTP/1.1 cannot warn it),
 * so the window is long enough that only a client gone quiet is cut.
 */
export const DRAIN_IDLE_MS = 2000;

const SOCKET_STATE = Symbol('socket state');

interface SocketState {
  active: number;
  idleSince: number;
  /** When the drain sent FIN on this idle socket; a client that does not close its side by a second later is cut. */
  endedAt?: number;
}

export interface ConnectionTracker {
  /** Sockets open now. */
  readonly open: () => number;
  /** Stops accepting and returns once every socket is closed (idle ones after DRAIN_IDLE_MS, busy ones by `deadlineMs`). */
  drain(deadlineMs: number): Promise<{ forced: number }>;
  /** True from the start of a drain: every response then carries `Connection: close`. */
  readonly draining: () => boolean;
}

/** Follows `app.server`'s sockets and the requests on each; installs the hook that marks responses of a drain. */
export function trackConnections(app: FastifyInstance): ConnectionTracker {
  const server: Server = app.server;
  const sockets = new Map<Socket, SocketState>();
  let draining = false;
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { active: 0, idleSince: performance.now() });
    socket.once('close', () => sockets.delete(socket));
  });
  // One listener for every response (no closure per request): the state rides on the response.
  function onResponseClose(this: ServerResponse & { [SOCKET_STATE]?: SocketState }): void {
    const state = this[SOCKET_STATE];
    if (!state) return;
    state.active--;
    state.idleSince = performance.now();
  }
  server.on('request', (req, res: ServerResponse & { [SOCKET_STATE]?: SocketState }) => {
    const state = sockets.get(req.socket);
    if (!state) return;
    state.active++;
    res[SOCKET_STATE] = state;
    res.on('close', onResponseClose);
  });
  // Callback hooks here and in app.ts, request-log.ts and metrics.ts: an async one costs each request a promise and a
  // microtask hop more, for work that never waits.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });

  async function drain(deadlineMs: number): Promise<{ forced: number }> {
    draining = true;
    // net.Server's close only: stop accepting, without http.Server's destruction of idle sockets.
    if (server.listening) NetServer.prototype.close.call(server);
    const deadline = performance.now() + deadlineMs;
    let forced = 0;
    await new Promise<void>((resolve) => {
      const sweep = () => {
        const now = performance.now();
        for (const [socket, state] of sockets) {
          if (state.endedAt !== undefined && now - state.endedAt >= 1000) socket.destroy();
          else if (state.active === 0 && state.endedAt === undefined && now - state.idleSince >= DRAIN_IDLE_MS) {
            state.endedAt = now;
            socket.end();
          } else if (now >= deadline) {
            forced++;
            socket.destroy();
          }
        }
        if (sockets.size === 0) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(sweep, 50);
      sweep();
    });
    return { forced };
  }

  return { open: () => sockets.size, drain, draining: () => draining };
}
