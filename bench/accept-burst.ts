// `npm run bench:accept`: why a burst of new connections to a busy gateway waits seconds for its first
// answers (gateway/README.md, "Cold bursts"), shown on a plain Node HTTP server with no Entente code, so
// the figures separate what Node does from what the gateway does.
//
// A child process serves POSTs with 0.3 ms of work each (about an empty GraphQL request). 256 clients,
// each on a connection of its own, open at once and send requests back to back for 2 s. Printed per round:
//   - when each client's connection was established (the kernel's handshake, before the server accepts);
//   - how long each client waited for its first answer, and how long later requests took;
//   - the listening sockets' accept queue (connections established but not yet accepted), sampled from
//     /proc/net/tcp every 20 ms: its peak and how long it took to empty.
// Variants, alternating by round: one listening socket; and, where Node has `reusePort` (22.12 and
// later), eight listening sockets on the same port handing their connections to one HTTP server.
// Writes bench/results/accept-<date>.{json,md} (BENCH_RESULTS_TAG to keep a second machine's apart).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { percentiles, round, type Percentiles } from './support/stats.ts';

const CLIENTS = 256;
const BURST_SECONDS = 2;
const WORK_MS = 0.3;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const QUEUE_SAMPLE_MS = 20;
const REUSE_PORT_LISTENERS = 8;
const body = JSON.stringify({ query: '{ __typename }' });

/** The server: prints its port once every listener is up. LISTENERS > 1 needs Node's `reusePort`. */
const serverSource = `
const { createServer } = require('node:http');
const net = require('node:net');
const workMs = ${WORK_MS};
const listeners = Number(process.env.LISTENERS);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => setImmediate(() => {
    const end = performance.now() + workMs;
    while (performance.now() < end);
    res.setHeader('content-type', 'application/json');
    res.end('{"data":{"__typename":"Query"}}');
  }));
});
server.listen({ port: 0, host: '127.0.0.1', reusePort: listeners > 1 }, () => {
  const port = server.address().port;
  for (let i = 1; i < listeners; i++) net.createServer((socket) => server.emit('connection', socket)).listen({ port, host: '127.0.0.1', reusePort: true });
  setTimeout(() => process.stdout.write(port + '\\n'), 100);
});`;

interface RoundFigures {
  readonly variant: string;
  readonly round: number;
  readonly connectedMs: Percentiles;
  readonly firstAnswerMs: Percentiles;
  readonly laterAnswerMs: Percentiles;
  readonly answersPerSecond: number;
  /** Peak of the accept queue summed over the listening sockets; null where /proc/net/tcp is missing. */
  readonly acceptQueuePeak: number | null;
  /** From the burst's start until the accept queue was empty again (ms); null as above. */
  readonly acceptQueueEmptyAfterMs: number | null;
}

await main();

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const machine = machineFacts();
  const variants = [{ name: 'one listening socket', listeners: 1 }];
  if (hasReusePort(process.versions.node)) variants.push({ name: `${REUSE_PORT_LISTENERS} listening sockets (reusePort)`, listeners: REUSE_PORT_LISTENERS });
  const header = `bench:accept — Node ${process.version} (libuv ${process.versions.uv}); ${CLIENTS} new connections at once, ${BURST_SECONDS} s of back-to-back POSTs, ${WORK_MS} ms of work per request; ${ROUNDS} rounds per variant`;
  console.log(header);
  if (variants.length === 1) console.log(`(Node ${process.version} has no reusePort: one listening socket only)`);
  const rounds: RoundFigures[] = [];
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const variant of variants) {
      const figures = await measureRound(variant.name, variant.listeners, index);
      rounds.push(figures);
      console.log(describe(figures));
    }
  }
  const results = { benchmark: 'accept', date, machine, node: process.version, libuv: process.versions.uv, clients: CLIENTS, burstSeconds: BURST_SECONDS, workMs: WORK_MS, rounds };
  const markdown = [`# bench:accept — ${date}`, '', machineLine(machine), '', header, '', ...rounds.map((figures) => `- ${describe(figures)}`), ''].join('\n');
  writeResultFiles('accept', date, results, markdown);
}

function describe(f: RoundFigures): string {
  const queue = f.acceptQueuePeak === null ? 'accept queue: n/a (no /proc/net/tcp)' : `accept queue peak ${f.acceptQueuePeak}, ${f.acceptQueueEmptyAfterMs === null ? 'still not empty when the burst ended' : `empty ${f.acceptQueueEmptyAfterMs} ms after the burst began`}`;
  return `${f.variant}, round ${f.round + 1}: connected p50 ${f.connectedMs.p50} ms, max ${f.connectedMs.max}; first answer p50 ${f.firstAnswerMs.p50} ms, p99 ${f.firstAnswerMs.p99}, max ${f.firstAnswerMs.max}; later answers p50 ${f.laterAnswerMs.p50} ms, p99 ${f.laterAnswerMs.p99} (${f.answersPerSecond}/s); ${queue}`;
}

/** `reusePort` in server.listen: Node 22.12+ and 23.1+. Older Node ignores the option, and a second listener fails. */
function hasReusePort(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

async function measureRound(variant: string, listeners: number, roundIndex: number): Promise<RoundFigures> {
  const child = spawn(process.execPath, ['-e', serverSource], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LISTENERS: String(listeners) } });
  try {
    const port = await portOf(child);
    const url = `http://127.0.0.1:${port}/graphql`;
    const connected: number[] = [];
    const first: number[] = [];
    const later: number[] = [];
    const queue = sampleAcceptQueue(port);
    const started = performance.now();
    const deadline = started + BURST_SECONDS * 1000;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        let isFirst = true;
        while (performance.now() < deadline) {
          const begin = performance.now();
          await post(url, agent, isFirst ? (ms) => connected.push(ms) : null, begin);
          (isFirst ? first : later).push(performance.now() - begin);
          isFirst = false;
        }
      } finally {
        agent.destroy();
      }
    }));
    const elapsedS = (performance.now() - started) / 1000;
    const { peak, emptyAfterMs } = queue.stop(started);
    return {
      variant, round: roundIndex,
      connectedMs: percentiles(connected), firstAnswerMs: percentiles(first), laterAnswerMs: percentiles(later),
      answersPerSecond: round((first.length + later.length) / elapsedS, 0),
      acceptQueuePeak: peak, acceptQueueEmptyAfterMs: emptyAfterMs,
    };
  } finally {
    child.kill();
  }
}

function portOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bench server exited (${code}) before listening`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('utf8').trim())));
  });
}

function post(url: string, agent: Agent, onConnected: ((ms: number) => void) | null, begin: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', reject);
    });
    if (onConnected !== null) req.once('socket', (socket) => socket.once('connect', () => onConnected(performance.now() - begin)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The accept queue of the listening sockets on `port`: in /proc/net/tcp a LISTEN row's rx_queue is the
 * number of connections established and waiting for accept().
 */
function sampleAcceptQueue(port: number): { stop(started: number): { peak: number | null; emptyAfterMs: number | null } } {
  if (!existsSync('/proc/net/tcp')) return { stop: () => ({ peak: null, emptyAfterMs: null }) };
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const samples: { at: number; depth: number }[] = [];
  const timer = setInterval(() => {
    let depth = 0;
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      // local_address is IP:PORT in hex; state 0A is LISTEN; tx_queue:rx_queue in hex.
      if (fields[1]?.endsWith(`:${portHex}`) && fields[3] === '0A') depth += parseInt(fields[4]!.split(':')[1]!, 16);
    }
    samples.push({ at: performance.now(), depth });
  }, QUEUE_SAMPLE_MS);
  return {
    stop(started) {
      clearInterval(timer);
      const peak = Math.max(0, ...samples.map((s) => s.depth));
      const peakIndex = samples.findIndex((s) => s.depth === peak);
      const emptied = samples.slice(peakIndex).find((s) => s.depth === 0);
      return { peak, emptyAfterMs: peak === 0 ? 0 : emptied === undefined ? null : round(emptied.at - started, 0) };
    },
  };
}
