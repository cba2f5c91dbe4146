// `entente schema diff` and `entente schema check`: what changes between two schema versions and who must
// approve them. `entente schema propose` and `approve` send a proposal or an approval to this partner's
// running gateway (its GraphQL mutations), which publishes it as a ledger transaction (issue #11).
//
// Exit codes (documented in schema/README.md, "Schema evolution"):
//   diff:  0 no change or only safe ones · 3 dangerous changes, none breaking · 4 at least one breaking change
//   check: 0 approved · 1 refused (stderr names who must approve)
//   both:  1 a version does not compose · 2 usage error or a path that cannot be read
//   propose/approve: 0 committed (the output says whose approvals are still missing) · 1 the gateway refused it
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { EntenteError } from '../../../common/errors.ts';
import { readGenesisFile } from '../../../ledger/genesis.ts';
import { changeLevels, type ChangeLevel, type SchemaChange, type SchemaDiff } from '../../../schema/evolution/change.ts';
import { decideApproval, refusalMessage, type ApprovalDecision } from '../../../schema/evolution/governance.ts';
import { defaultGovernancePolicy, governancePolicyFromJson, type GovernancePolicy } from '../../../schema/evolution/governance-policy.ts';
import { diffSchemas } from '../../../schema/evolution/schema-diff.ts';
import { loadSchemaVersion, type SchemaVersionFiles } from '../../../schema/evolution/schema-version-files.ts';
import type { CliIo } from '../main.ts';
import { loadGatewayConfig } from '../../config/gateway-config.ts';
import { loadPartnerSchemaFiles } from '../../../schema/schema-files.ts';

export const diffExitCodes: Readonly<Record<ChangeLevel, number>> = { safe: 0, dangerous: 3, breaking: 4 };

interface VersionOptions {
  readonly json?: boolean;
  readonly genesis?: string;
  readonly partners?: string;
  readonly partner?: string;
}

interface CheckOptions extends VersionOptions {
  readonly proposer: string;
  readonly approvedBy: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((item) => item.trim()).filter((item) => item !== '')];

function versionOptions(command: Command): Command {
  return command
    .option('--genesis <file>', 'the network\'s genesis file: its members are the partners, its "governance" the policy')
    .option('--partners <names>', 'the network\'s partners, comma-separated (without --genesis; default: the partners of the files)')
    .option('--partner <name>', 'when <old>/<new> are single files: the partner they belong to (default: the file name)')
    .option('--json', 'print JSON instead of text');
}

export function registerSchema(program: Command, io: CliIo): void {
  const schema = program.command('schema').description('schema evolution: classify changes, check approvals');
  versionOptions(schema
    .command('diff')
    .description('classify every change between two schemas as safe, dangerous or breaking (exit 0 safe, 3 dangerous, 4 breaking)')
    .argument('<old>', 'old version: a partner schema file or the folder of partner files')
    .argument('<new>', 'new version: a partner schema file or the folder of partner files'))
    .action(async (oldPath: string, newPath: string, options: VersionOptions) => {
      const network = await readNetwork(options);
      const [old, next] = await loadBoth(oldPath, newPath, network.partners, options);
      const diff = diffSchemas(old.unified, next.unified);
      io.stdout(options.json === true ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff, oldPath, newPath));
      process.exitCode = diffExitCodes[diff.level];
    });
  versionOptions(schema
    .command('check')
    .description('decide whether a change has the approvals the governance policy requires (exit 0 approved, 1 refused)')
    .argument('<old>', 'the active version: a partner schema file or the folder of partner files')
    .argument('<new>', 'the proposed version')
    .requiredOption('--proposer <partner>', 'the partner proposing the change (its approval is implied)')
    .option('--approved-by <partners>', 'partners that approved (comma-separated or repeated)', collect, []))
    .action(async (oldPath: string, newPath: string, options: CheckOptions) => {
      const network = await readNetwork(options);
      const [old, next] = await loadBoth(oldPath, newPath, network.partners, options);
      const diff = diffSchemas(old.unified, next.unified);
      const decision = decideApproval({ diff, partners: next.unified.partners, proposer: options.proposer, approvals: options.approvedBy, policy: network.policy });
      io.stdout(options.json === true ? `${JSON.stringify(decisionJson(diff, decision, network.policy), null, 2)}\n` : formatDecision(diff, decision, options.proposer));
      if (!decision.approved) throw new EntenteError('FORBIDDEN', refusalMessage(decision));
    });
  gatewayOptions(schema
    .command('propose')
    .description('propose the next schema version through this partner\'s gateway (a ledger transaction); prints the proposal hash partners approve')
    .argument('<file-or-dir>', 'a partner schema file (replaces that partner\'s file) or a folder of partner files (each replaces its partner\'s)')
    .option('--partner <name>', 'for a single file: the partner it belongs to (default: the file name)'))
    .action(async (path: string, options: GatewayCallOptions & { partner?: string }) => {
      const files = (await stat(path).catch(() => null))?.isDirectory() === true
        ? (await loadPartnerSchemaFiles(path)).map(({ partner, source }) => ({ partner, source }))
        : [{ partner: options.partner ?? basename(path).replace(/\.graphql$/, ''), source: await readSchemaFile(path) }];
      const receipt = await callGateway(options, 'mutation ($files: [SchemaFileInput!]!) { result: proposeSchemaChange(files: $files) { proposal version height approved required missing message } }', { files });
      io.stdout(options.json === true ? `${JSON.stringify(receipt, null, 2)}\n` : `Proposed version ${receipt.version} at height ${receipt.height}: proposal ${receipt.proposal}\n${receipt.message}\n${receipt.approved ? '' : `Each of ${receipt.missing.join(', ')} approves with: entente schema approve ${receipt.proposal} --config <their gateway.json>\n`}`);
    });
  gatewayOptions(schema
    .command('approve')
    .description('approve a pending schema proposal as this partner, through its gateway (a ledger transaction)')
    .argument('<proposal-hash>', 'the hash `entente schema propose` printed (64 hex characters)'))
    .action(async (proposal: string, options: GatewayCallOptions) => {
      if (!/^[0-9a-fA-F]{64}$/.test(proposal)) throw new EntenteError('USAGE', `"${proposal}" is not a proposal hash: pass the 64 hex characters \`entente schema propose\` printed`);
      const receipt = await callGateway(options, 'mutation ($p: String!) { result: approveSchemaChange(proposal: $p) { proposal version height approved required missing message } }', { p: proposal });
      io.stdout(options.json === true ? `${JSON.stringify(receipt, null, 2)}\n` : `Approved proposal ${receipt.proposal} (version ${receipt.version}) at height ${receipt.height}.\n${receipt.approved ? 'Every required approval is in: the proposer\'s gateway activates it.' : `Still missing: ${receipt.missing.join(', ')}.`}\n`);
    });
}

interface GatewayCallOptions {
  readonly config?: string;
  readonly url?: string;
  readonly apiKey?: string;
  readonly json?: boolean;
}

interface SchemaReceiptJson {
  readonly proposal: string;
  readonly version: number;
  readonly height: number;
  readonly approved: boolean;
  readonly required: readonly string[];
  readonly missing: readonly string[];
  readonly message: string;
}

/** Per call: the published transaction commits through consensus first. */
const gatewayCallTimeoutMs = 60_000;

function gatewayOptions(command: Command): Command {
  return command
    .option('--config <file>', 'this partner\'s gateway configuration: the gateway is reached at its "listen" address')
    .option('--url <url>', 'the gateway\'s GraphQL URL instead (e.g. http://127.0.0.1:4000/graphql)')
    .option('--api-key <key>', 'an API key of this partner\'s gateway (default: $ENTENTE_API_KEY)')
    .option('--json', 'print the receipt as JSON');
}

async function readSchemaFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new EntenteError('USAGE', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass a partner schema file or the folder of partner files.`, { cause: error });
  }
}

async function gatewayUrl(options: GatewayCallOptions): Promise<string> {
  if (options.url !== undefined) return options.url;
  if (options.config === undefined) throw new EntenteError('USAGE', 'pass --config <gateway.json> (the gateway of the partner proposing or approving) or --url <graphql url>');
  const config = await loadGatewayConfig(options.config);
  const host = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? '127.0.0.1' : config.listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.listen.port}/graphql`;
}

async function callGateway(options: GatewayCallOptions, query: string, variables: Record<string, unknown>): Promise<SchemaReceiptJson> {
  const url = await gatewayUrl(options);
  const apiKey = options.apiKey ?? process.env['ENTENTE_API_KEY'];
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST', signal: AbortSignal.timeout(gatewayCallTimeoutMs),
      headers: { 'content-type': 'application/json', ...(apiKey === undefined ? {} : { 'x-api-key': apiKey }) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new EntenteError('UNAVAILABLE', `cannot reach the gateway at ${url}: ${(error as Error).message}. Start it (\`entente node --config …\`) or pass the right --config/--url.`, { cause: error });
  }
  const body = (await response.json().catch(() => null)) as { data?: { result?: SchemaReceiptJson } | null; errors?: readonly { message: string }[] } | null;
  const result = body?.data?.result;
  if (result === undefined || result === null) {
    const why = body?.errors?.map((error) => error.message).join('; ') ?? `HTTP ${response.status}`;
    throw new EntenteError('FORBIDDEN', `the gateway at ${url} refused: ${why}`);
  }
  return result;
}

interface Network {
  readonly partners: readonly string[] | undefined;
  readonly policy: GovernancePolicy;
}

async function readNetwork(options: VersionOptions): Promise<Network> {
  if (options.genesis !== undefined && options.partners !== undefined) throw new EntenteError('USAGE', 'pass either --genesis or --partners, not both: the genesis file already names the partners.');
  if (options.partners !== undefined) return { partners: collect(options.partners, []), policy: defaultGovernancePolicy };
  if (options.genesis === undefined) return { partners: undefined, policy: defaultGovernancePolicy };
  const genesis = await readGenesisFile(options.genesis);
  // The genesis reader keeps only what it hashes; the policy is read from the same JSON beside it.
  const json = JSON.parse(await readFile(options.genesis, 'utf8')) as { governance?: unknown };
  return { partners: genesis.membership.nodes.map((node) => node.partner), policy: governancePolicyFromJson(json.governance, options.genesis) };
}

async function loadBoth(oldPath: string, newPath: string, partners: readonly string[] | undefined, options: VersionOptions): Promise<[SchemaVersionFiles, SchemaVersionFiles]> {
  const load = (path: string) => loadSchemaVersion(path, { ...(partners === undefined ? {} : { partners }), ...(options.partner === undefined ? {} : { partner: options.partner }) });
  return [await load(oldPath), await load(newPath)];
}

function countsText(diff: SchemaDiff): string {
  return changeLevels.slice().reverse().map((level) => `${diff.counts[level]} ${level}`).join(', ');
}

function changeLines(change: SchemaChange): string {
  const who = [`owner ${change.owners.join(', ') || '-'}`, change.affected.length > 0 ? `affects ${change.affected.join(', ')}` : null, change.source === 'graphql-inspector' ? `graphql-inspector ${change.inspectorType ?? ''}`.trim() : `entente ${change.kind}`];
  return `  ${change.path}  ${change.message}\n      ${who.filter((part) => part !== null).join(' · ')}\n`;
}

export function formatDiff(diff: SchemaDiff, oldPath: string, newPath: string): string {
  if (diff.changes.length === 0) return `No changes between ${oldPath} and ${newPath}.\n`;
  const sections = changeLevels.slice().reverse().map((level) => {
    const changes = diff.changes.filter((change) => change.level === level);
    return changes.length === 0 ? '' : `\n${level.toUpperCase()}\n${changes.map(changeLines).join('')}`;
  });
  return `${oldPath} → ${newPath}: ${countsText(diff)}\n${sections.join('')}`;
}

export function formatDecision(diff: SchemaDiff, decision: ApprovalDecision, proposer: string): string {
  const head = `Proposed by ${proposer}: ${countsText(diff)}. Required approvals: ${decision.required.join(', ')}.\n`;
  if (decision.approved) return `${head}Approved: every required partner has approved.\n`;
  // The reasons follow on stderr, in the refusal message.
  return `${head}Refused${decision.missing.length > 0 ? `: still needs ${decision.missing.join(', ')}` : ''}.\n`;
}

function decisionJson(diff: SchemaDiff, decision: ApprovalDecision, policy: GovernancePolicy) {
  return {
    approved: decision.approved, required: decision.required, missing: decision.missing, reasons: decision.reasons, policy,
    requirements: decision.requirements.map((requirement) => ({ path: requirement.change.path, level: requirement.change.level, governanceClass: requirement.governanceClass, rule: requirement.rule, approvers: requirement.approvers, missing: requirement.missing })),
    level: diff.level, counts: diff.counts,
  };
}
