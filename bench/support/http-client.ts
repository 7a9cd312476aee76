/**
 * A lean HTTP/1.1 client for the update benches: keep-alive sockets, one request in flight on each (no pipelining,
 * as a service's HTTP agent sends them), each request written in one call from a string built by the caller, and the
 * answer read by its status line and Content-Length only. It costs the load generator a fraction of a general client's
 * CPU (undici parses every header, builds objects and streams per response), which on a small machine competes with
 * the server it measures. The server sees ordinary requests: the same bytes a general client sends.
 */
import { connect, type Socket } from 'node:net';

interface Pending {
  readonly resolve: (status: number) => void;
  readonly reject: (err: Error) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection: at most one request in flight. */
class Connection {
  private readonly socket: Socket;
  private pending: Pending | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  closed = false;

  constructor(host: string, port: number, onClose: (c: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    let ended = false;
    const fail = (err: Error) => {
      this.closed = true;
      if (ended) return;
      ended = true;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
      onClose(this);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  send(request: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request, 'latin1');
    });
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length === null) {
      this.socket.destroy(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffered.length < total) return;
    const status = Number(head.slice(9, 12));
    const rest = this.buffered.subarray(total);
    this.buffered = rest.length === 0 ? Buffer.alloc(0) : rest;
    const p = this.pending;
    this.pending = undefined;
    if (/\r\nconnection: *close/i.test(head)) this.socket.end();
    p?.resolve(status);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** POSTs JSON bodies over up to `connections` keep-alive connections; a request waits for a free one. */
export class LeanHttpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly idle: Connection[] = [];
  private readonly waiting: ((c: Connection) => void)[] = [];
  private open = 0;

  constructor(
    url: string,
    private readonly connections: number,
  ) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
  }

  /** The status code of `POST path` with this JSON body (ASCII). */
  post(path: string, body: string): Promise<number> {
    return this.request(
      `POST ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  }

  /** The status code of `GET path`. */
  get(path: string): Promise<number> {
    return this.request(`GET ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n\r\n`);
  }

  private async request(text: string): Promise<number> {
    const c = await this.acquire();
    try {
      return await c.send(text);
    } finally {
      this.release(c);
    }
  }

  private acquire(): Promise<Connection> {
    const c = this.idle.pop();
    if (c !== undefined) return Promise.resolve(c);
    if (this.open < this.connections) {
      this.open++;
      return Promise.resolve(new Connection(this.host, this.port, () => this.open--));
    }
    return new Promise((r) => this.waiting.push(r));
  }

  private release(c: Connection): void {
    if (c.closed) {
      const next = this.waiting.shift();
      if (next !== undefined) {
        this.open++;
        next(new Connection(this.host, this.port, () => this.open--));
      }
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) next(c);
    else this.idle.push(c);
  }

  async close(): Promise<void> {
    for (const c of this.idle.splice(0)) c.close();
  }
}
