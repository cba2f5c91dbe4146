// Starts a network of real node processes on loopback for the multi-process test and the benchmark:
// fresh keys and genesis in a temporary directory, one `ledger/node/node-main.ts` process per node,
// SIGKILL and restart by index, and a small HTTP client for submitting and inspecting.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMembership } from '../../ledger/membership.ts';
import { writeGenesisFile } from '../../ledger/genesis.ts';
import { createNodeKey, writeNodeKeyFile, type NodeKey } from '../../ledger/node/node-key.ts';
import { joinTxs, type NodeConfig } from '../../ledger/node/node-runner.ts';
import { freePort } from '../support/free-port.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface NodeStatus {
  readonly index: number;
  readonly height: number;
  readonly head: string;
  readonly round: number;
  readonly mempool: number;
  readonly committedTxs: number;
  readonly totalTxs: number;
}

const CLIENT_SOCKETS_PER_NODE_MAX = 4096;
const CLIENT_IDLE_SOCKET_MS = 2_000;

export class LocalCluster {
  readonly directory: string;
  readonly configs: NodeConfig[] = [];
  private readonly processes: (ChildProcess | null)[] = [];
  readonly logs: string[][] = [];
  readonly keys: NodeKey[] = [];
  private running = new Set<number>();
  /**
   * Kept-alive client connections (bounded per node, enough for the benchmark's requests in flight). An
   * idle one is closed here after CLIENT_IDLE_SOCKET_MS, well before the node's HTTP server drops it (5 s):
   * a socket the server closes just as it is reused fails the request (seen once in a bench run; a
   * request in progress is not affected by this timeout).
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: CLIENT_SOCKETS_PER_NODE_MAX, timeout: CLIENT_IDLE_SOCKET_MS });

  private constructor(directory: string) {
    this.directory = directory;
  }

  /** `count` genesis members, plus `joiners` nodes outside the genesis that may join by a membership change. */
  static async create(count: number, joiners = 0): Promise<LocalCluster> {
    const cluster = new LocalCluster(mkdtempSync(join(tmpdir(), 'entente-cluster-')));
    const total = count + joiners;
    const keys = Array.from({ length: total }, (_, i) => createNodeKey(`partner-${i}`));
    cluster.keys.push(...keys);
    keys.forEach((key, i) => writeNodeKeyFile(join(cluster.directory, `node-${i}.key`), key));
    const genesisFile = join(cluster.directory, 'genesis.json');
    await writeGenesisFile(genesisFile, { network: 'local', timeMs: 0, schemaVersion: 1, membership: createMembership(keys.slice(0, count).map((k) => ({ partner: k.partner, publicKey: k.publicKey }))), ownership: new Map() });
    const ports = await Promise.all(Array.from({ length: total * 2 }, () => freePort()));
    for (let i = 0; i < total; i++) {
      const peers: Record<string, string> = {};
      for (let j = 0; j < total; j++) if (j !== i) peers[`partner-${j}`] = `ws://127.0.0.1:${ports[2 * j]}`;
      const config: NodeConfig = {
        genesisFile, keyFile: join(cluster.directory, `node-${i}.key`), dataDirectory: join(cluster.directory, `data-${i}`),
        listenHost: '127.0.0.1', listenPort: ports[2 * i]!, clientPort: ports[2 * i + 1]!, peers, ...(i >= count ? { joinIndex: i } : {}),
      };
      writeFileSync(join(cluster.directory, `node-${i}.json`), JSON.stringify(config, null, 2));
      cluster.configs.push(config);
      cluster.processes.push(null);
      cluster.logs.push([]);
    }
    return cluster;
  }

  get size(): number {
    return this.configs.length;
  }

  /** Starts the genesis members (not the joiners). */
  async startAll(): Promise<void> {
    await Promise.all(this.configs.filter((c) => c.joinIndex === undefined).map((_, i) => this.start(i)));
  }

  /** Indices of the nodes whose processes run. */
  get live(): number[] {
    return [...this.running].sort((a, b) => a - b);
  }

  /** Starts node i and resolves once it prints its ready line. */
  start(i: number): Promise<void> {
    const flags = (process.env['ENTENTE_CLUSTER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
    const child = spawn(process.execPath, [...flags, join(root, 'bin/run-ts.js'), join(root, 'ledger/node/node-main.ts'), '--config', join(this.directory, `node-${i}.json`)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes[i] = child;
    this.running.add(i);
    const log = this.logs[i]!;
    child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    return new Promise((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`node ${i} did not start: ${log.join('')}`)), 30_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        if (buffered.includes('"ready":true')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!buffered.includes('"ready":true')) reject(new Error(`node ${i} exited with ${code}: ${log.join('')}`));
      });
    });
  }

  /** SIGKILL by default (a crash); SIGTERM lets the node shut down cleanly (profiles get written). */
  kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.processes[i];
    this.processes[i] = null;
    this.running.delete(i);
    if (child === null || child === undefined || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Kills every node; nodes started with --cpu-prof (ENTENTE_CLUSTER_NODE_FLAGS) stop cleanly so they write their profiles. */
  async stopAll(): Promise<void> {
    const profiling = (process.env['ENTENTE_CLUSTER_NODE_FLAGS'] ?? '').includes('--cpu-prof');
    await Promise.all(this.configs.map((_, i) => this.kill(i, profiling ? 'SIGTERM' : 'SIGKILL')));
  }

  remove(): void {
    this.agent.destroy();
    rmSync(this.directory, { recursive: true, force: true });
  }

  /** Statuses of nodes 0…count-1 once their heads are equal (or the last ones read, after ~5 s). */
  async equalHeads(count = this.size): Promise<NodeStatus[]> {
    let statuses: NodeStatus[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      statuses = await Promise.all(Array.from({ length: count }, (_, i) => this.status(i)));
      if (new Set(statuses.map((s) => s.head)).size === 1) return statuses;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return statuses;
  }

  /**
   * After a run: how many different heads nodes 0…count-1 end with (once equal, or after ~5 s), and per
   * node how many of the `acknowledged` transactions it lacks and whether it stores one twice.
   */
  async audit(acknowledged: readonly Uint8Array[], count = this.size): Promise<{ readonly heads: number; readonly missing: number[]; readonly storedTwice: number[] }> {
    const heads = new Set((await this.equalHeads(count)).map((s) => s.head)).size;
    const ids = acknowledged.map((tx) => new Uint8Array(createHash('sha256').update(tx).digest()));
    const missing: number[] = [];
    const storedTwice: number[] = [];
    for (let i = 0; i < count; i++) {
      missing.push((await this.lookup(i, ids)).filter((height) => height === null).length);
      const status = await this.status(i);
      if (status.totalTxs !== status.committedTxs) storedTwice.push(i);
    }
    return { heads, missing, storedTwice };
  }

  async status(i: number): Promise<NodeStatus> {
    const response = await fetch(`http://127.0.0.1:${this.configs[i]!.clientPort}/status`);
    return (await response.json()) as NodeStatus;
  }

  /**
   * Submits transactions to node i; resolves with the height once all are committed there (acknowledged).
   * Plain node:http over kept-alive connections rather than fetch: the benchmark's load generator shares
   * the machine's two cores with the four nodes, and fetch cost it several times the CPU per request.
   */
  submit(i: number, txs: readonly Uint8Array[], signal?: AbortSignal): Promise<number> {
    const body = joinTxs(txs);
    // A kept-alive socket the node closed just as it was reused fails at once; submitting again is safe
    // (a node ignores transactions it already holds and answers for committed ones), so retry once.
    return this.post(i, body, signal).catch((error: unknown) => {
      if ((error as { code?: unknown; reusedSocket?: unknown }).reusedSocket === true && (error as { code?: unknown }).code === 'ECONNRESET') return this.post(i, body, signal);
      throw error;
    });
  }

  private post(i: number, body: Uint8Array, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.configs[i]!.clientPort, method: 'POST', path: '/txs', agent: this.agent, headers: { 'content-length': body.length }, ...(signal === undefined ? {} : { signal }) }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) return reject(new Error(`node ${i} answered ${response.statusCode}`));
          try {
            resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { height: number }).height);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
      req.on('error', (error: Error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
      req.end(body);
    });
  }

  async signers(i: number, height: number): Promise<number[] | null> {
    const response = await fetch(`http://127.0.0.1:${this.configs[i]!.clientPort}/certificate/${height}`);
    if (response.status !== 200) return null;
    return ((await response.json()) as { signers: number[] }).signers;
  }

  async lookup(i: number, ids: readonly Uint8Array[]): Promise<(number | null)[]> {
    const body = new Uint8Array(ids.length * 32);
    ids.forEach((id, k) => body.set(id, k * 32));
    const response = await fetch(`http://127.0.0.1:${this.configs[i]!.clientPort}/lookup`, { method: 'POST', body: Buffer.from(body) });
    return (await response.json()) as (number | null)[];
  }
}
