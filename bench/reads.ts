// `npm run bench:reads` (issue #12): read throughput of Entente against PostGraphile 5 on the same
// PostgreSQL database and the same operations. Method:
//   1. A generated dataset (bench/support/reads-dataset.ts): 2,000 suppliers → 200,000 products → 800,000
//      order lines, 1,002,000 rows, kept between runs in database `entente_bench_reads`.
//   2. Each server in its own child process (bench/reads-entente-server.ts, bench/reads-postgraphile-server.ts),
//      both with NODE_ENV=production (graphql-js drops its development checks, as in a deployment), running
//      for the whole benchmark; autocannon in this process drives one at a time.
//   3. Before any load, every operation is sent to both servers with several variable sets and the answers
//      are compared after normalizing names (bench/support/reads-operations.ts): the same data, or the run stops.
//   4. Rounds alternate the servers (Entente first in odd rounds, PostGraphile first in even ones), each
//      operation BENCH_SECONDS (default 10) per server per round, BENCH_ROUNDS rounds (default 3),
//      BENCH_CONNECTIONS concurrent connections (default 16). Reported: req/s over all rounds, p99 (the median
//      of the rounds' p99), and Entente/PostGraphile ratios. Because rates on a shared machine move with
//      other tenants' load, each run also records CPU per request (Linux /proc): the server process, and the
//      dataset database's backends (which serve only the server under load); the median over the rounds is
//      reported, and load disturbs it far less than req/s.
// Writes bench/results/reads-<date>.{json,md}. BENCH_PROFILE=1 runs Entente under --cpu-prof and prints its
// hottest functions; BENCH_OPERATIONS=<text> runs only the operations whose name contains it. PGHOST/PGPORT/PGUSER/PGPASSWORD pick the server (default 127.0.0.1:5432, postgres).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { summarizeCpuProfiles } from './support/cpu-profile.ts';
import { resultStem } from './support/machine.ts';
import { datasetUrl, ensureReadsDataset } from './support/reads-dataset.ts';
import { normalize, readOperations, type ReadOperation, type ServerName } from './support/reads-operations.ts';
import { round } from './support/stats.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const profile = process.env['BENCH_PROFILE'] === '1';
/** Only the operations whose name contains this text (e.g. BENCH_OPERATIONS=nested while profiling). */
const operationFilter = process.env['BENCH_OPERATIONS'] ?? '';
const fresh = process.argv.includes('--fresh');
const databaseName = 'entente_bench_reads';
const serverStartTimeoutMs = 120_000;
const root = fileURLToPath(new URL('..', import.meta.url));

interface RunFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  /** CPU per request of the server process and of the database backends, or null where /proc is missing. */
  readonly serverCpuMsPerRequest: number | null;
  readonly databaseCpuMsPerRequest: number | null;
}

/** Linux clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's utime and stime. */
const clockTicksPerSecond = 100;
const procAvailable = existsSync('/proc/self/stat');

/** CPU time (user + system) a process has used, in ms; null when it is gone or /proc is missing. */
function processCpuMs(pid: number | undefined): number | null {
  if (!procAvailable || pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
  } catch {
    return null;
  }
}

/** CPU used so far by every backend of the dataset database but `observer`'s own, by pid. */
async function backendCpu(observer: pg.Client): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  if (!procAvailable) return cpu;
  const result = await observer.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
  for (const { pid } of result.rows) {
    const used = processCpuMs(pid);
    if (used !== null) cpu.set(pid, used);
  }
  return cpu;
}

/** Backends that appeared during the run count from zero; the pools keep theirs open, so few leave mid-run. */
function backendCpuUsed(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let used = 0;
  for (const [pid, total] of after) used += total - (before.get(pid) ?? 0);
  return used;
}

interface StartedServer {
  readonly name: ServerName;
  readonly url: string;
  readonly child: ChildProcess;
}

function adminUrl(): string {
  const user = encodeURIComponent(process.env['PGUSER'] ?? 'postgres');
  const password = process.env['PGPASSWORD'] === undefined ? '' : `:${encodeURIComponent(process.env['PGPASSWORD'])}`;
  return `postgres://${user}${password}@${process.env['PGHOST'] ?? '127.0.0.1'}:${process.env['PGPORT'] ?? '5432'}/postgres`;
}

async function startServer(name: ServerName, databaseUrl: string, profileDir: string | null): Promise<StartedServer> {
  const script = name === 'entente' ? 'bench/reads-entente-server.ts' : 'bench/reads-postgraphile-server.ts';
  const flags = profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...flags, 'bin/run-ts.js', script, databaseUrl], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production', GRAPHILE_ENV: 'production' } });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${serverStartTimeoutMs} ms`)), serverStartTimeoutMs);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { name, url: `http://127.0.0.1:${port}/graphql`, child };
}

async function stopServer(server: StartedServer): Promise<void> {
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
}

async function post(url: string, query: string, variables: Record<string, unknown>): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (response.status !== 200 || body.errors !== undefined) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

/** Both servers must give the same data for the same variables, or the comparison means nothing. */
async function checkSameAnswers(servers: readonly StartedServer[], operation: ReadOperation): Promise<void> {
  for (const index of [0, 1, 17, 4_242]) {
    const variables = operation.variables(index);
    const [entente, postgraphile] = await Promise.all(servers.map(async (server) => normalize(await post(server.url, operation.documents[server.name], variables))));
    if (!isDeepStrictEqual(entente, postgraphile)) {
      throw new Error(`"${operation.name}" differs for ${JSON.stringify(variables)}:\nEntente      ${JSON.stringify(entente).slice(0, 800)}\nPostGraphile ${JSON.stringify(postgraphile).slice(0, 800)}`);
    }
  }
}

async function load(server: StartedServer, operation: ReadOperation, durationSeconds: number, observer: pg.Client): Promise<RunFigures> {
  let counter = 0;
  const serverCpuBefore = processCpuMs(server.child.pid);
  const backendsBefore = await backendCpu(observer);
  const query = operation.documents[server.name];
  const result = await autocannon({
    url: server.url,
    connections,
    duration: durationSeconds,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ query, variables: operation.variables(counter++) }) }),
    }],
  });
  const serverCpuAfter = processCpuMs(server.child.pid);
  const backendsUsed = backendCpuUsed(backendsBefore, await backendCpu(observer));
  const perRequest = (ms: number | null) => (ms === null || result.requests.total === 0 ? null : round(ms / result.requests.total, 2));
  return {
    serverCpuMsPerRequest: perRequest(serverCpuBefore === null || serverCpuAfter === null ? null : serverCpuAfter - serverCpuBefore),
    databaseCpuMsPerRequest: procAvailable ? perRequest(backendsUsed) : null,
    requestsPerSecond: round(result.requests.total / durationSeconds, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length === 0 ? null : median(present);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface SideSummary {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  /** Medians over the rounds. */
  readonly serverCpuMsPerRequest: number | null;
  readonly databaseCpuMsPerRequest: number | null;
  readonly rounds: readonly RunFigures[];
}

interface OperationSummary {
  readonly operation: string;
  readonly entente: SideSummary;
  readonly postgraphile: SideSummary;
  /** Entente's req/s over PostGraphile's: ≥ 1 meets the issue's goal. */
  readonly throughputRatio: number;
  readonly p99Ratio: number;
  /** Entente's CPU per request (server + database) over PostGraphile's: ≤ 1 means Entente needs no more CPU. */
  readonly cpuRatio: number | null;
}

function summarize(operation: string, runs: Readonly<Record<ServerName, RunFigures[]>>): OperationSummary {
  const side = (figures: readonly RunFigures[]): SideSummary => ({
    requestsPerSecond: round(figures.reduce((sum, run) => sum + run.requests, 0) / (figures.length * seconds), 0),
    p99Ms: median(figures.map((run) => run.p99Ms)),
    serverCpuMsPerRequest: medianOrNull(figures.map((run) => run.serverCpuMsPerRequest)),
    databaseCpuMsPerRequest: medianOrNull(figures.map((run) => run.databaseCpuMsPerRequest)),
    rounds: figures,
  });
  const entente = side(runs.entente);
  const postgraphile = side(runs.postgraphile);
  const cpu = (summary: SideSummary) => (summary.serverCpuMsPerRequest === null || summary.databaseCpuMsPerRequest === null ? null : summary.serverCpuMsPerRequest + summary.databaseCpuMsPerRequest);
  const ententeCpu = cpu(entente);
  const postgraphileCpu = cpu(postgraphile);
  return {
    operation, entente, postgraphile,
    throughputRatio: round(entente.requestsPerSecond / postgraphile.requestsPerSecond),
    p99Ratio: round(entente.p99Ms / postgraphile.p99Ms),
    cpuRatio: ententeCpu === null || postgraphileCpu === null || postgraphileCpu === 0 ? null : round(ententeCpu / postgraphileCpu),
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((value) => round(value, 1));
  console.log(`bench:reads — ${rounds} rounds × ${seconds} s per operation and server, ${connections} connections; load average at start ${loadAtStart.join(' ')}`);
  const building = performance.now();
  const rows = await ensureReadsDataset(adminUrl(), databaseName, fresh);
  console.log(`dataset: ${rows.toLocaleString('en-US')} rows in ${databaseName} (${round((performance.now() - building) / 1000, 1)} s)`);
  const url = datasetUrl(adminUrl(), databaseName);
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'entente-reads-profile-')) : null;
  const servers = [await startServer('entente', url, profileDir), await startServer('postgraphile', url, null)];
  const summaries: OperationSummary[] = [];
  const observer = new pg.Client({ connectionString: url });
  await observer.connect();
  try {
    for (const operation of readOperations) await checkSameAnswers(servers, operation);
    console.log('both servers answer every operation with the same data');
    for (const server of servers) for (const operation of readOperations) await load(server, operation, 2, observer); // warm-up: JIT, pools, plans
    for (const operation of readOperations.filter((candidate) => candidate.name.includes(operationFilter))) {
      const runs: Record<ServerName, RunFigures[]> = { entente: [], postgraphile: [] };
      for (let roundIndex = 0; roundIndex < rounds; roundIndex += 1) {
        const order = roundIndex % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const figures = await load(server, operation, seconds, observer);
          runs[server.name].push(figures);
          console.log(`  ${operation.name.padEnd(26)} ${server.name.padEnd(12)} round ${roundIndex + 1}: ${figures.requestsPerSecond} req/s  p50 ${figures.p50Ms} ms  p99 ${figures.p99Ms} ms  CPU/request: server ${figures.serverCpuMsPerRequest} ms, database ${figures.databaseCpuMsPerRequest} ms${figures.non2xx + figures.errors > 0 ? `  (${figures.non2xx} non-2xx, ${figures.errors} errors)` : ''}`);
        }
      }
      const summary = summarize(operation.name, runs);
      summaries.push(summary);
      console.log(`${operation.name.padEnd(26)} Entente ${summary.entente.requestsPerSecond} req/s p99 ${summary.entente.p99Ms} ms | PostGraphile ${summary.postgraphile.requestsPerSecond} req/s p99 ${summary.postgraphile.p99Ms} ms | Entente/PostGraphile ${summary.throughputRatio}× req/s, ${summary.cpuRatio}× CPU per request`);
    }
  } finally {
    await observer.end();
    for (const server of servers) await stopServer(server);
  }
  const hotSpots = profileDir === null ? null : summarizeCpuProfiles(profileDir, 15);
  if (hotSpots !== null) console.log(`Entente's hottest functions (self time, whole run):\n${hotSpots.map((spot) => `  ${spot.selfPercent}%  ${spot.name}  ${spot.location}`).join('\n')}`);
  writeResults({ loadAtStart, rows, summaries, hotSpots });
}

function writeResults(input: { loadAtStart: number[]; rows: number; summaries: OperationSummary[]; hotSpots: ReturnType<typeof summarizeCpuProfiles> | null }): void {
  const date = new Date().toISOString();
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1), os: `${platform()} ${release()}`, node: process.version, loadAverageAtStart: input.loadAtStart, loadAverageAtEnd: loadavg().map((value) => round(value, 1)) };
  const note = 'The machine (2 cores) is a VM whose host may be shared (see the load averages). Both servers ran in their own child process on the same PostgreSQL server and database; autocannon ran in the parent process; the servers alternated within each round, so both saw the same background load on average.';
  const results = { bench: 'reads', date, machine, note, settings: { seconds, rounds, connections, rows: input.rows, database: databaseName, postgraphile: '5.0.0-rc.3 (amber preset)' }, operations: input.summaries, ententeHotSpots: input.hotSpots };
  const directory = new URL('./results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const day = date.slice(0, 10);
  writeFileSync(new URL(`${resultStem('reads', day)}.json`, directory), `${JSON.stringify(results, null, 2)}\n`);
  const goalMet = input.summaries.every((summary) => summary.throughputRatio >= 1);
  const markdown = [
    `# bench:reads — ${date}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; load average ${machine.loadAverageAtStart.join(' ')} at start, ${machine.loadAverageAtEnd.join(' ')} at end.`,
    '',
    note,
    '',
    `Dataset: ${input.rows.toLocaleString('en-US')} rows (suppliers → products → order lines). ${rounds} rounds × ${seconds} s per operation and server, ${connections} connections (autocannon). PostGraphile 5.0.0-rc.3, amber preset.`,
    '',
    '| operation | Entente req/s | Entente p99 ms | PostGraphile req/s | PostGraphile p99 ms | Entente/PostGraphile req/s | p99 ratio |',
    '|---|---|---|---|---|---|---|',
    ...input.summaries.map((s) => `| ${s.operation} | ${s.entente.requestsPerSecond} | ${s.entente.p99Ms} | ${s.postgraphile.requestsPerSecond} | ${s.postgraphile.p99Ms} | ${s.throughputRatio}× | ${s.p99Ratio}× |`),
    '',
    'CPU per request (median of the rounds; server process + the dataset database\'s backends, from /proc):',
    '',
    '| operation | Entente server ms | Entente database ms | PostGraphile server ms | PostGraphile database ms | Entente/PostGraphile CPU |',
    '|---|---|---|---|---|---|',
    ...input.summaries.map((s) => `| ${s.operation} | ${s.entente.serverCpuMsPerRequest ?? '—'} | ${s.entente.databaseCpuMsPerRequest ?? '—'} | ${s.postgraphile.serverCpuMsPerRequest ?? '—'} | ${s.postgraphile.databaseCpuMsPerRequest ?? '—'} | ${s.cpuRatio === null ? '—' : `${s.cpuRatio}×`} |`),
    '',
    `Goal (issue #12): Entente ≥ 1.0× PostGraphile's req/s on every operation — ${goalMet ? 'met' : 'NOT met'} in this run.`,
    ...(input.hotSpots === null ? [] : ['', 'Entente\'s hottest functions by self time (node --cpu-prof over the whole run):', '', ...input.hotSpots.map((spot) => `- ${spot.selfPercent}% ${spot.name} (${spot.location})`)]),
    '',
  ].join('\n');
  writeFileSync(new URL(`${resultStem('reads', day)}.md`, directory), markdown);
  console.log(`results: bench/results/${resultStem('reads', day)}.json and .md`);
}

await main();
