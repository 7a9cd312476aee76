/**
 * bench/http-floor: what one HTTP request costs in CPU before any work is done, under the load generator of
 * bench/http-update (the lean keep-alive client) at the rate of the update benches.
 *
 * Servers, each a child process on 127.0.0.1, in an order that turns each run:
 *   - node:http: reads the JSON body, parses it, answers a fixed JSON of an update answer's size;
 *   - Fastify: the same as one route with Fastify's defaults (its JSON parser, no schema, no logger);
 *   - `bkt serve` (built CLI, embedded PGlite in memory, default settings): `GET /health`, which passes every hook of
 *     the app (request id, auth, metrics, drain, request log, which skips probes) and touches no database.
 * Each gets an open loop at --rate requests/s for --duration seconds. Prints, per server, the median over runs of the
 * server's CPU per request, its context switches per request, and the load generator's CPU per request.
 *
 * bench/http-update's HTTP maximum is bounded by these: on cores shared by the load generator, the server and
 * PostgreSQL, a request's HTTP cost (server and generator) adds to the update's own CPU.
 * Run: npm run build && npx tsx bench/http-floor.ts [--rate 1200] [--duration 5] [--runs 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { threadsCpuMs, threadsSwitches } from './support/cpu-meter.js';
import { LeanHttpClient } from './support/http-client.js';
import { freePort, startServe } from './support/serve.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1200' },
    duration: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.duration);
const RUNS = Number(args.runs);
if (!(RATE > 0 && SECONDS > 0 && RUNS >= 1)) throw new RangeError('--rate, --duration and --runs must be positive');

/** An answer of about the size of POST /api/bkt/update's. */
const ANSWER = JSON.stringify({
  student_id: randomUUID(),
  concept_id: randomUUID(),
  mastery_before: 0.1,
  mastery_after: 0.3076923076923077,
  p_correct: 0.3,
  p_correct_next: 0.43461538461538457,
  mastered: false,
  newly_mastered: false,
  n_responses: 1,
  version: 1,
  replayed: false,
});

const NODE_SERVER = `
const answer = ${JSON.stringify(ANSWER)};
require('node:http').createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (body) JSON.parse(body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\\n'));`;

const FASTIFY_SERVER = `
const answer = JSON.parse(${JSON.stringify(ANSWER)});
const app = require('fastify')();
app.post('/api/bkt/update', async () => answer);
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => process.stdout.write('listening\\n'));`;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  /** One request, resolving to its status. */
  readonly send: (client: LeanHttpClient) => Promise<number>;
}

const updateBody = () =>
  `{"student_id":"${randomUUID()}","concept_id":"${randomUUID()}","correct":${Math.random() < 0.7},"response_id":"${randomUUID()}"}`;

async function startScript(code: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, send: (c) => c.post('/api/bkt/update', updateBody()) };
}

const SERVERS: Record<string, () => Promise<Server>> = {
  'node:http': () => startScript(NODE_SERVER),
  Fastify: () => startScript(FASTIFY_SERVER),
  'bkt serve /health': async () => {
    const s = await startServe({ BKT_DATA_DIR: 'memory://', LOG_LEVEL: 'info' });
    return { ...s, send: (c) => c.get('/health') };
  },
};

interface Cost {
  serverUs: number;
  switches: number;
  clientUs: number;
  errors: number;
}

/** Requests on schedule at RATE per second for SECONDS, whatever the answers do. */
async function openLoop(server: Server, client: LeanHttpClient, seconds: number): Promise<{ sent: number; errors: number }> {
  const total = Math.floor(RATE * seconds);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  let errors = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
    for (; sent < due; sent++) {
      inFlight.push(
        server.send(client).then(
          (status) => void (status === 200 || errors++),
          () => void errors++,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  return { sent, errors };
}

async function measure(server: Server): Promise<Cost> {
  const client = new LeanHttpClient(server.url, 128);
  try {
    await openLoop(server, client, 1); // warm-up: JIT, connections
    const pid = server.child.pid!;
    const cpu0 = threadsCpuMs(pid);
    const sw0 = threadsSwitches(pid);
    const own = process.cpuUsage();
    const { sent, errors } = await openLoop(server, client, SECONDS);
    const used = process.cpuUsage(own);
    return {
      serverUs: ((threadsCpuMs(pid) - cpu0) * 1000) / sent,
      switches: (threadsSwitches(pid) - sw0) / sent,
      clientUs: (used.user + used.system) / sent,
      errors,
    };
  } finally {
    await client.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const names = Object.keys(SERVERS);
  const costs = new Map<string, Cost[]>(names.map((n) => [n, []]));
  for (let run = 0; run < RUNS; run++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + run) % names.length];
      const server = await SERVERS[name]();
      try {
        costs.get(name)!.push(await measure(server));
      } finally {
        server.child.kill('SIGTERM');
        await new Promise((r) => server.child.once('exit', r));
      }
    }
    process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
  }
  console.log(`open loop at ${RATE} requests/s, ${SECONDS} s, median of ${RUNS} runs, lean keep-alive client (128 connections):`);
  for (const [name, list] of costs) {
    const errors = list.reduce((n, c) => n + c.errors, 0);
    console.log(
      `  ${name.padEnd(18)} server ${median(list.map((c) => c.serverUs)).toFixed(0).padStart(4)} µs` +
        ` (${median(list.map((c) => c.switches)).toFixed(2)} context switches)` +
        `, load generator ${median(list.map((c) => c.clientUs)).toFixed(0).padStart(4)} µs per request${errors ? `, errors ${errors}` : ''}`,
    );
  }
}

await main();
