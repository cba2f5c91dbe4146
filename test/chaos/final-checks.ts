// The checks after the storm, each returning the problems it found (empty = passed):
//   - every acknowledged mutation and legacy insert is in its owner's table exactly once, and nothing
//     appears that was never attempted;
//   - every replica equals its owner's source table projected to what that partner may read (row rule
//     on status, field rule on note), compared row by row and summarised as a checksum;
//   - all gateways hold the same block at a common height (GraphQL `ledger { block(height) { hash } }`);
//   - `entente verify --data` passes on every ledger directory.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DATA_COLUMNS, type ChaosNetwork, type ChaosPartner } from './chaos-network.ts';
import type { SqlClient, SqlRow } from './partner-databases.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES_MAX = 5;

export interface ReplicaReport {
  readonly partner: string;
  readonly owner: string;
  readonly rows: number;
  readonly checksum: string;
  readonly equal: boolean;
}

export async function checkExactlyOnce(network: ChaosNetwork, clients: ReadonlyMap<string, SqlClient>, acknowledged: ReadonlyMap<string, ReadonlySet<string>>, attempted: ReadonlyMap<string, ReadonlySet<string>>): Promise<string[]> {
  const problems: string[] = [];
  for (const owner of network.partners) {
    const name = owner.spec.partner;
    const rows = await clients.get(name)!.query(`select ref, count(*) as n from ${owner.spec.table} group by ref`);
    const counts = new Map(rows.map((row) => [String(row['ref']), Number(row['n'])]));
    const missing = [...acknowledged.get(name)!].filter((ref) => !counts.has(ref));
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([ref, n]) => `${ref}×${n}`);
    const invented = [...counts.keys()].filter((ref) => !attempted.get(name)!.has(ref));
    if (missing.length > 0) problems.push(`${name}: ${missing.length} acknowledged changes missing from ${owner.spec.table} (e.g. ${missing.slice(0, EXAMPLES_MAX).join(', ')})`);
    if (duplicated.length > 0) problems.push(`${name}: ${duplicated.length} changes applied more than once (${duplicated.slice(0, EXAMPLES_MAX).join(', ')})`);
    if (invented.length > 0) problems.push(`${name}: ${invented.length} rows never written by the load (${invented.slice(0, EXAMPLES_MAX).join(', ')})`);
  }
  return problems;
}

function canonical(row: SqlRow, columns: readonly string[]): string {
  return JSON.stringify(columns.map((column) => {
    const value = row[column];
    if (value === null || value === undefined) return null;
    return column === 'amount' ? Number(value) : String(value);
  }));
}

function sortById(rows: readonly SqlRow[]): SqlRow[] {
  return [...rows].sort((a, b) => (BigInt(String(a['id'])) < BigInt(String(b['id'])) ? -1 : 1));
}

/** What `reader` may hold of `owner`'s rows: the row rule and the field rule of chaos-network.ts. */
export function projection(owner: ChaosPartner, reader: string, rows: readonly SqlRow[]): { columns: string[]; rows: readonly SqlRow[] } {
  const columns = DATA_COLUMNS.filter((column) => column !== 'note' || owner.spec.noteReaders.includes(reader));
  const visible = owner.spec.shippedOnlyFor.includes(reader) ? rows.filter((row) => row['status'] === 'shipped') : rows;
  return { columns, rows: visible };
}

export async function checkReplicas(network: ChaosNetwork, clients: ReadonlyMap<string, SqlClient>): Promise<{ problems: string[]; reports: ReplicaReport[] }> {
  const problems: string[] = [];
  const reports: ReplicaReport[] = [];
  for (const owner of network.partners) {
    const source = await clients.get(owner.spec.partner)!.query(`select ${DATA_COLUMNS.join(', ')} from ${owner.spec.table}`);
    for (const reader of network.partners) {
      if (reader === owner) continue;
      const { columns, rows } = projection(owner, reader.spec.partner, source);
      const client = clients.get(reader.spec.partner)!;
      const replica = await client.query(`select ${columns.join(', ')} from ${client.replicaTable(owner.spec.partner, owner.spec.table)}`);
      const expected = sortById(rows).map((row) => canonical(row, columns));
      const actual = sortById(replica).map((row) => canonical(row, columns));
      const checksum = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
      const equal = checksum(expected) === checksum(actual);
      reports.push({ partner: reader.spec.partner, owner: owner.spec.partner, rows: actual.length, checksum: checksum(actual), equal });
      if (!equal) {
        const want = new Set(expected);
        const have = new Set(actual);
        const absent = expected.filter((line) => !have.has(line));
        const extra = actual.filter((line) => !want.has(line));
        problems.push(`${reader.spec.partner}'s replica of ${owner.spec.partner}.${owner.spec.table}: ${actual.length} rows vs ${expected.length} projected (checksum ${checksum(actual)} vs ${checksum(expected)}); missing or stale ${absent.length} (e.g. ${absent.slice(0, 3).join(' ')}), extra or stale ${extra.length} (e.g. ${extra.slice(0, 3).join(' ')})`);
      }
    }
  }
  return { problems, reports };
}

async function graphql(url: string, query: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }), signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
  if (body.errors !== undefined || body.data === undefined) throw new Error(`${url}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Heights by partner, and the problems if the block at the lowest common height differs anywhere. */
export async function checkHeads(urls: ReadonlyMap<string, string>): Promise<{ problems: string[]; heights: Record<string, number>; commonHeight: number; hash: string }> {
  const heights: Record<string, number> = {};
  for (const [partner, url] of urls) heights[partner] = (((await graphql(url, '{ ledger { height } }'))['ledger']) as { height: number }).height;
  const common = Math.min(...Object.values(heights));
  const hashes = new Map<string, string>();
  for (const [partner, url] of urls) {
    const block = ((await graphql(url, `{ ledger { block(height: ${common}) { hash } } }`))['ledger'] as { block: { hash: string } | null }).block;
    hashes.set(partner, block?.hash ?? 'none');
  }
  const distinct = new Set(hashes.values());
  const problems = distinct.size === 1 && !distinct.has('none') ? [] : [`block ${common} differs between gateways: ${JSON.stringify(Object.fromEntries(hashes))}`];
  return { problems, heights, commonHeight: common, hash: [...distinct][0] ?? '' };
}

export async function verifyLedgers(network: ChaosNetwork): Promise<string[]> {
  const run = promisify(execFile);
  const results = await Promise.all(network.partners.map(async (partner) => {
    try {
      const { stdout } = await run(process.execPath, ['bin/entente.js', 'verify', '--data', join(partner.dataDir, 'ledger'), '--json'], { cwd: projectRoot, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
      return { partner: partner.spec.partner, ok: true, detail: stdout };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      return { partner: partner.spec.partner, ok: false, detail: `${failed.stdout ?? ''}${failed.stderr ?? failed.message}`.slice(0, 2_000) };
    }
  }));
  return results.filter((result) => !result.ok).map((result) => `entente verify failed on ${result.partner}'s ledger: ${result.detail}`);
}
