// The chaos controller: starts the four-gateway network behind its own TCP proxies, runs the load, and
// injects faults chosen by one seeded PRNG until the time is up and every kind reached its quota; then
// lets the network settle and runs the final checks. At most two faults are active at once and never two
// on one gateway, so the network stalls at worst for the length of the shorter one (n = 4 tolerates one
// faulty member; two at once stop progress but must never break safety).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGenesisFile } from '../../ledger/genesis.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { byzantineBurst } from './byzantine-peer.ts';
import { createChaosNetwork, dropDatabases, proxyKey, type ChaosNetwork, type ChaosPartner } from './chaos-network.ts';
import { checkExactlyOnce, checkHeads, checkReplicas, verifyLedgers, type ReplicaReport } from './final-checks.ts';
import { GatewayProcess } from './gateway-process.ts';
import { LoadGenerator, type LoadStats } from './load.ts';
import { openSqlClient, terminateGatewaySessions, type SqlClient } from './partner-databases.ts';
import { TcpProxy } from './tcp-proxy.ts';

export const FAULT_KINDS = ['kill', 'stop', 'partition', 'database', 'byzantine'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  readonly seed: number;
  /** How long faults are injected (the run also waits for each kind's quota, up to `overrunMs` more). */
  readonly faultWindowMs: number;
  readonly faultsPerKindMin: number;
  readonly overrunMs?: number;
  readonly apiPerSecond?: number;
  readonly sqlPerSecond?: number;
  readonly concurrentFaultsMax?: number;
  /**
   * Faults that make a gateway miss messages (kill, stop, partition, PGlite restart) active at once; the
   * others (server-side session kills, Byzantine bursts) may overlap them. Default 1: with two, an owner
   * killed while another partner misses its batch gossip loses the payloads that partner needs, and that
   * partner's replica stops at that block (found by this suite; see test/chaos/README.md).
   */
  readonly disruptiveFaultsMax?: number;
  /** Count a restart of the PGlite gateway as a database restart (slow: a process start); default true. */
  readonly embeddedDatabaseRestart?: boolean;
  /** Run `entente verify` as a process on every ledger (the CLI users run); the short CI run may too. */
  readonly log?: (line: string) => void;
  readonly keepFolder?: boolean;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly target: string;
  readonly detail: string;
  readonly atMs: number;
  recoveryMs: number | null;
}

export interface ChaosResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly faults: readonly FaultRecord[];
  readonly load: LoadStats;
  readonly replicas: readonly ReplicaReport[];
  readonly heights: Record<string, number>;
  readonly evidence: Record<string, number>;
  readonly rejected: Record<string, number>;
  readonly folder: string;
  readonly elapsedMs: number;
  summary(): string;
}

const START_TIMEOUT_MS = 180_000;
const RECOVERY_TIMEOUT_MS = 120_000;
const SETTLE_TIMEOUT_MS = 180_000;
const POLL_MS = 250;

interface ReadyState { ready: boolean; height: number; appliedHeight: number; round: number; ledgerOk: boolean; databaseOk: boolean }

async function readyOf(url: string): Promise<ReadyState | null> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) });
    const body = (await response.json()) as { ready?: boolean; checks?: { ledger?: { ok: boolean; detail?: { height: number; appliedHeight: number; round: number } }; database?: { ok: boolean } } };
    const ledger = body.checks?.ledger;
    return { ready: body.ready === true, height: ledger?.detail?.height ?? 0, appliedHeight: ledger?.detail?.appliedHeight ?? 0, round: ledger?.detail?.round ?? 0, ledgerOk: ledger?.ok === true, databaseOk: body.checks?.database?.ok === true };
  } catch {
    return null;
  }
}

async function readyBodyOf(url: string): Promise<unknown> {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) });
    return await response.json();
  } catch (error) {
    return `unreachable: ${String(error)}`;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const random = seededRandom(options.seed);
  const started = Date.now();
  const at = () => Date.now() - started;
  const folder = await mkdtemp(join(tmpdir(), 'entente-chaos-'));
  const problems: string[] = [];
  const faults: FaultRecord[] = [];
  const proxies = new Map<string, TcpProxy>();
  const gateways = new Map<string, GatewayProcess>();
  const urls = new Map<string, string>();
  let network: ChaosNetwork | null = null;
  let load: LoadGenerator | null = null;
  let replicas: ReplicaReport[] = [];
  let heights: Record<string, number> = {};
  const byzantineTargets = new Set<string>();
  const background = new Set<Promise<void>>();

  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min));

  try {
    network = await createChaosNetwork(folder);
    const net = network;
    const genesis = await readGenesisFile(net.genesisFile);
    for (const from of net.partners) {
      for (const to of net.partners) {
        if (from === to) continue;
        proxies.set(proxyKey(from.spec.partner, to.spec.partner, 'http'), new TcpProxy(net.proxyPorts.get(proxyKey(from.spec.partner, to.spec.partner, 'http'))!, to.httpPort));
        proxies.set(proxyKey(from.spec.partner, to.spec.partner, 'consensus'), new TcpProxy(net.proxyPorts.get(proxyKey(from.spec.partner, to.spec.partner, 'consensus'))!, to.consensusPort));
      }
    }
    for (const proxy of proxies.values()) await proxy.start();
    for (const partner of net.partners) {
      const url = `http://127.0.0.1:${partner.httpPort}`;
      urls.set(partner.spec.partner, url);
      gateways.set(partner.spec.partner, new GatewayProcess(partner.spec.partner, partner.configFile, url, join(folder, `${partner.spec.partner}.log`)));
    }
    log(`chaos: seed ${options.seed}; network in ${folder}; starting ${net.partners.map((p) => `${p.spec.partner} (${p.spec.family})`).join(', ')}`);
    await Promise.all([...gateways.values()].map((gateway) => gateway.start(START_TIMEOUT_MS)));
    await waitAllReady(urls, START_TIMEOUT_MS);
    log(`chaos: network ready after ${(at() / 1000).toFixed(1)} s; load and faults for ${(options.faultWindowMs / 1000).toFixed(0)} s`);

    load = new LoadGenerator(net, random, urls);
    await load.start(options.apiPerSecond ?? 8, options.sqlPerSecond ?? 6);

    const busy = new Set<string>();
    const partnerOf = (name: string): ChaosPartner => net.partners.find((p) => p.spec.partner === name)!;
    const heightElsewhere = async (target: string): Promise<number> => {
      let height = 0;
      for (const [partner, url] of urls) if (partner !== target) height = Math.max(height, (await readyOf(url))?.height ?? 0);
      return height;
    };
    /**
     * The target, and every gateway no other fault holds, serves again and has applied what the others had
     * committed when the fault ended (a cut link or a missed gossip may have held back the other end too).
     */
    const recovered = async (record: FaultRecord, target: string, healedAt: number, needHeight: number): Promise<void> => {
      const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
      for (;;) {
        const watched = [...urls.keys()].filter((partner) => partner === target || !busy.has(partner));
        const states = await Promise.all(watched.map((partner) => readyOf(urls.get(partner)!)));
        const state = states[watched.indexOf(target)] ?? null;
        if (states.every((s) => s !== null && s.ledgerOk && s.databaseOk && s.appliedHeight >= needHeight)) break;
        if (Date.now() > deadline) {
          problems.push(`${record.kind} on ${target} at ${(record.atMs / 1000).toFixed(1)} s: not recovered within ${RECOVERY_TIMEOUT_MS} ms (last /ready: ${JSON.stringify(state)})`);
          return;
        }
        await sleep(POLL_MS);
      }
      record.recoveryMs = Date.now() - healedAt;
    };
    const setLink = (a: string, b: string, cut: boolean) => {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        for (const channel of ['http', 'consensus'] as const) {
          const proxy = proxies.get(proxyKey(from, to, channel))!;
          if (cut) proxy.cut();
          else proxy.heal();
        }
      }
    };

    const inject = async (kind: FaultKind, target: string): Promise<void> => {
      const gateway = gateways.get(target)!;
      const record: FaultRecord = { kind, target, detail: '', atMs: at(), recoveryMs: null };
      faults.push(record);
      switch (kind) {
        case 'kill': {
          await gateway.kill();
          const healedAt = Date.now();
          const need = await heightElsewhere(target);
          await gateway.start(START_TIMEOUT_MS);
          (record as { detail: string }).detail = 'SIGKILL, restarted';
          await recovered(record, target, healedAt, need);
          return;
        }
        case 'stop': {
          const holdMs = between(500, 3_000);
          gateway.signal('SIGSTOP');
          await sleep(holdMs);
          gateway.signal('SIGCONT');
          (record as { detail: string }).detail = `SIGSTOP for ${holdMs} ms`;
          const healedAt = Date.now();
          await recovered(record, target, healedAt, await heightElsewhere(target));
          return;
        }
        case 'partition': {
          const holdMs = between(1_000, 4_000);
          const isolate = random() < 0.7;
          const others = net.partners.map((p) => p.spec.partner).filter((p) => p !== target);
          const cutOff = isolate ? others : [pick(others)];
          for (const other of cutOff) setLink(target, other, true);
          await sleep(holdMs);
          for (const other of cutOff) setLink(target, other, false);
          (record as { detail: string }).detail = `${isolate ? 'isolated' : `link to ${cutOff[0]!} cut`} for ${holdMs} ms`;
          const healedAt = Date.now();
          await recovered(record, target, healedAt, await heightElsewhere(target));
          return;
        }
        case 'database': {
          const partner = partnerOf(target);
          if (partner.spec.family === 'pglite') {
            const code = await gateway.stop(30_000);
            if (code !== 0) problems.push(`${target}'s gateway exited with ${code} on SIGINT (database restart):\n${gateway.output().slice(-2_000)}`);
            const healedAt = Date.now();
            const need = await heightElsewhere(target);
            await gateway.start(START_TIMEOUT_MS);
            (record as { detail: string }).detail = 'embedded PGlite: gateway process stopped (SIGINT) and restarted';
            await recovered(record, target, healedAt, need);
          } else {
            const ended = await terminateGatewaySessions(partner);
            (record as { detail: string }).detail = `${ended} gateway sessions terminated server-side`;
            const healedAt = Date.now();
            await recovered(record, target, healedAt, await heightElsewhere(target));
          }
          return;
        }
        case 'byzantine': {
          const source = [...urls].find(([partner]) => partner !== target && !busy.has(partner))?.[1] ?? urls.get(target)!;
          const state = await readyOf(source);
          byzantineTargets.add(target);
          const member = genesis.membership.nodes.find((node) => node.partner === target)!;
          await byzantineBurst({
            genesis, partner: target, secretKey: partnerOf(target).key.secretKey, height: (state?.height ?? 0) + 1, round: state?.round ?? 0,
            peers: net.partners.filter((p) => p.spec.partner !== target).map((p) => ({ index: genesis.membership.nodes.find((n) => n.partner === p.spec.partner)!.index, url: `ws://127.0.0.1:${p.consensusPort}` })),
          });
          (record as { detail: string }).detail = `key of member ${member.index}: equivocation, wrong-key signatures, tampered batch and proposal at height ${(state?.height ?? 0) + 1}`;
          const healedAt = Date.now();
          await recovered(record, target, healedAt, await heightElsewhere(target));
          return;
        }
      }
    };

    const counts = new Map<FaultKind, number>(FAULT_KINDS.map((kind) => [kind, 0]));
    const windowEnd = options.faultWindowMs;
    const hardEnd = windowEnd + (options.overrunMs ?? options.faultWindowMs * 3);
    const quotaTotal = FAULT_KINDS.length * options.faultsPerKindMin;
    const concurrentMax = options.concurrentFaultsMax ?? 2;
    const disruptiveMax = options.disruptiveFaultsMax ?? 1;
    const embeddedRestart = options.embeddedDatabaseRestart ?? true;
    const disruptive = (kind: FaultKind, target: string) => kind === 'kill' || kind === 'stop' || kind === 'partition' || (kind === 'database' && partnerOf(target).spec.family === 'pglite');
    const disruptiveActive = new Set<string>();
    const loopStart = at();
    for (;;) {
      const now = at();
      const short = FAULT_KINDS.filter((kind) => counts.get(kind)! < options.faultsPerKindMin);
      if (now >= hardEnd || (now >= windowEnd && short.length === 0)) break;
      // Spread the quota over the window; past the window, inject as fast as the rules allow.
      const done = [...counts.values()].reduce((a, b) => a + Math.min(b, options.faultsPerKindMin), 0);
      const due = loopStart + ((windowEnd - loopStart) * done) / quotaTotal;
      const idle = [...gateways.keys()].filter((partner) => !busy.has(partner));
      if (now < due || busy.size >= concurrentMax || idle.length === 0) {
        await sleep(100);
        continue;
      }
      const choices: [FaultKind, string][] = [];
      for (const kind of short.length > 0 ? short : FAULT_KINDS) {
        for (const target of idle) {
          if (kind === 'database' && partnerOf(target).spec.family === 'pglite' && !embeddedRestart) continue;
          if (disruptive(kind, target) && disruptiveActive.size >= disruptiveMax) continue;
          choices.push([kind, target]);
        }
      }
      if (choices.length === 0) {
        await sleep(100);
        continue;
      }
      const [kind, target] = pick(choices);
      counts.set(kind, counts.get(kind)! + 1);
      busy.add(target);
      if (disruptive(kind, target)) disruptiveActive.add(target);
      const work = inject(kind, target)
        .catch((error: unknown) => { problems.push(`${kind} on ${target}: ${error instanceof Error ? error.message : String(error)}`); })
        .finally(() => {
          busy.delete(target);
          disruptiveActive.delete(target);
        });
      background.add(work);
      void work.finally(() => background.delete(work));
      await sleep(50);
    }
    await Promise.all([...background]);
    for (const [kind, count] of counts) if (count < options.faultsPerKindMin) problems.push(`only ${count} ${kind} faults injected (${options.faultsPerKindMin} wanted) in ${(hardEnd / 1000).toFixed(0)} s`);
    log(`chaos: faults done at ${(at() / 1000).toFixed(1)} s (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}); settling`);

    await load.stop();
    for (const proxy of proxies.values()) proxy.heal();
    await waitAllReady(urls, SETTLE_TIMEOUT_MS);
    // A sentinel per owner, answered once applied on every gateway: everything its owner committed
    // before it (capture is commit-ordered) is then in every replica.
    for (const owner of net.partners) {
      try {
        const acknowledged = await createUntilAcknowledged(urls.get(owner.spec.partner)!, owner, (ref) => load!.stats.attempted.get(owner.spec.partner)!.add(ref), SETTLE_TIMEOUT_MS);
        load.stats.acknowledged.get(owner.spec.partner)!.add(acknowledged);
      } catch (error) {
        // What every gateway reports at that moment (heights, applied heights, rounds, mempools) says
        // which one is stuck and where.
        const states = await Promise.all([...urls].map(async ([partner, url]) => [partner, await readyBodyOf(url)] as const));
        throw new Error(`${(error as Error).message}\n    /ready of every gateway then: ${JSON.stringify(Object.fromEntries(states))}`, { cause: error });
      }
    }
    const heads = await checkHeads(urls);
    heights = heads.heights;
    problems.push(...heads.problems);
    for (const [partner, gateway] of gateways) {
      const code = await gateway.stop(30_000);
      if (code !== 0) problems.push(`${partner}'s gateway exited with ${code} on SIGINT:\n${gateway.output().slice(-2_000)}`);
    }
    const clients = new Map<string, SqlClient>();
    try {
      for (const partner of net.partners) clients.set(partner.spec.partner, await openSqlClient(net, partner, 'chaos-checks'));
      problems.push(...(await checkExactlyOnce(net, clients, load.stats.acknowledged, load.stats.attempted)));
      const replicaCheck = await checkReplicas(net, clients);
      replicas = replicaCheck.reports;
      problems.push(...replicaCheck.problems);
    } finally {
      for (const client of clients.values()) await client.close().catch(() => undefined);
    }
    problems.push(...(await verifyLedgers(net)));
  } catch (error) {
    problems.push(`run aborted: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  } finally {
    await Promise.allSettled([...background]);
    await load?.stop().catch(() => undefined);
    for (const gateway of gateways.values()) {
      if (gateway.running) await gateway.kill();
      await gateway.closeLog();
    }
    for (const proxy of proxies.values()) await proxy.close();
  }

  const evidence: Record<string, number> = {};
  const rejected: Record<string, number> = {};
  if (network !== null) {
    const genesis = await readGenesisFile(network.genesisFile);
    for (const target of byzantineTargets) {
      const index = genesis.membership.nodes.find((node) => node.partner === target)!.index;
      let total = 0;
      for (const [partner, gateway] of gateways) if (partner !== target) total += gateway.events.evidenceBySender.get(index) ?? 0;
      evidence[target] = total;
      if (total === 0) problems.push(`no equivocation evidence recorded against ${target} (member ${index}) though its key equivocated`);
    }
    for (const gateway of gateways.values()) for (const [reason, n] of gateway.events.rejectedByReason) rejected[reason] = (rejected[reason] ?? 0) + n;
    // Each burst sends a batch altered after signing: it must be refused for its signature, not earlier for its shape.
    if (byzantineTargets.size > 0 && !Object.keys(rejected).some((reason) => reason.startsWith('batch not signed by'))) problems.push(`no gateway refused the Byzantine bursts' tampered batch for its signature (refusals: ${JSON.stringify(rejected)})`);
  }
  const ok = problems.length === 0;
  if (network !== null) await dropDatabases(network);
  if (ok && options.keepFolder !== true) await rm(folder, { recursive: true, force: true });
  const result: ChaosResult = {
    seed: options.seed, ok, problems, faults, load: load?.stats ?? emptyStats(), replicas, heights, evidence, rejected, folder, elapsedMs: at(),
    summary: () => summarize(result),
  };
  return result;
}

function emptyStats(): LoadStats {
  return { apiAttempts: 0, apiAcknowledged: 0, apiFailedAfterRetries: 0, apiRetries: 0, apiSkipped: 0, sqlInserts: 0, sqlUpdates: 0, sqlErrors: 0, apiFailures: new Map(), acknowledged: new Map(), attempted: new Map() };
}

async function waitAllReady(urls: ReadonlyMap<string, string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all([...urls.values()].map(readyOf));
    if (states.every((state) => state !== null && state.ready)) return;
    if (Date.now() > deadline) throw new Error(`gateways not ready within ${timeoutMs} ms: ${JSON.stringify(Object.fromEntries([...urls.keys()].map((p, i) => [p, states[i]])))}`);
    await sleep(POLL_MS);
  }
}

/**
 * Each attempt is a new change with its own ref: a retry with the same idempotency key answers from the
 * first attempt at once, without waiting for ALL_PARTNERS again, which would prove nothing here.
 */
async function createUntilAcknowledged(url: string, owner: ChaosPartner, attempting: (ref: string) => void, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const ref = `sentinel-${owner.spec.partner}-${attempt}`;
    attempting(ref);
    const query = `mutation ($input: ${owner.spec.typeName}CreateInput!) { create${owner.spec.typeName}(input: $input, idempotencyKey: "${ref}", syncMode: ALL_PARTNERS) { ledgerHeight } }`;
    try {
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { input: { ref, origin: 'sentinel', amount: 0, status: 'shipped', note: null } } }), signal: AbortSignal.timeout(60_000) });
      const body = (await response.json()) as { errors?: unknown[] };
      if (response.ok && body.errors === undefined) return ref;
      last = JSON.stringify(body.errors);
    } catch (error) {
      last = String(error);
    }
    await sleep(1_000);
  }
  throw new Error(`the sentinel mutation on ${owner.spec.partner} was not applied on every gateway within ${timeoutMs} ms: ${last}`);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(result: ChaosResult): string {
  const lines: string[] = [];
  lines.push(`chaos ${result.ok ? 'PASSED' : 'FAILED'} — seed ${result.seed} (replay: npm run chaos -- --seed ${result.seed}), ${(result.elapsedMs / 1000).toFixed(0)} s`);
  lines.push('faults (recovery: fault healed → gateway ready and caught up with the others):');
  for (const kind of FAULT_KINDS) {
    const of = result.faults.filter((fault) => fault.kind === kind);
    const times = of.map((fault) => fault.recoveryMs).filter((ms): ms is number => ms !== null);
    lines.push(`  ${kind.padEnd(10)} ${String(of.length).padStart(4)}   recovery p50 ${(percentile(times, 50) / 1000).toFixed(1)} s, max ${(Math.max(0, ...times) / 1000).toFixed(1)} s${times.length < of.length ? ` (${of.length - times.length} unrecovered)` : ''}`);
  }
  const all = result.faults.map((fault) => fault.recoveryMs ?? 0);
  lines.push(`  max recovery ${(Math.max(0, ...all) / 1000).toFixed(1)} s`);
  const s = result.load;
  lines.push(`mutations: ${s.apiAcknowledged} acknowledged of ${s.apiAttempts} (${s.apiRetries} retries with the same idempotency key, ${s.apiFailedAfterRetries} gave up, ${s.apiSkipped} skipped at the in-flight limit); legacy SQL: ${s.sqlInserts} inserts, ${s.sqlUpdates} updates, ${s.sqlErrors} errors`);
  const failures = [...s.apiFailures].sort((a, b) => b[1] - a[1]).slice(0, 6);
  if (failures.length > 0) lines.push(`failed API attempts, most frequent reasons: ${failures.map(([reason, count]) => `${count}× ${reason}`).join('; ')}`);
  lines.push(`heights at the end: ${JSON.stringify(result.heights)}`);
  lines.push(`replicas: ${result.replicas.filter((r) => r.equal).length}/${result.replicas.length} equal their owner's projected source (${result.replicas.map((r) => `${r.partner}←${r.owner} ${r.rows} rows ${r.checksum}`).join('; ')})`);
  lines.push(`evidence against Byzantine keys: ${JSON.stringify(result.evidence)}; rejected peer messages: ${JSON.stringify(result.rejected)}`);
  lines.push('database restarts: PGlite = its gateway process restarted; PostgreSQL/MariaDB = the gateway\'s sessions terminated server-side (pg_terminate_backend / KILL CONNECTION), since the shared servers cannot be restarted');
  if (!result.ok) {
    lines.push(`problems (${result.problems.length}):`);
    for (const problem of result.problems) lines.push(`  - ${problem}`);
    // The order of events is what a diagnosis needs first: which gateway was hit by what, and when.
    lines.push('fault timeline (s after start: kind target — detail, recovery):');
    for (const fault of result.faults) lines.push(`  ${(fault.atMs / 1000).toFixed(1).padStart(6)}  ${fault.kind} ${fault.target} — ${fault.detail}, ${fault.recoveryMs === null ? 'not recovered' : `recovered in ${(fault.recoveryMs / 1000).toFixed(1)} s`}`);
    lines.push(`logs and data kept in ${result.folder}; seed ${result.seed}`);
  }
  return lines.join('\n');
}
