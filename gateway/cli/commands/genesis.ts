// `entente genesis`: writes the network's genesis file from the partners' public node keys (membership,
// in the order given: certificates name signers by that index) and the initial ownership map.
import type { Command } from 'commander';
import { EntenteError } from '../../../common/errors.ts';
import { nodeHasher } from '../../../ledger/crypto/sha256-node.ts';
import { tryFromHex } from '../../../ledger/encoding/hex.ts';
import { genesisHash, writeGenesisFile, type Genesis } from '../../../ledger/genesis.ts';
import { createMembership } from '../../../ledger/membership.ts';
import { readNodeKeyFile } from '../../../ledger/node/node-key.ts';
import { chainIdOf } from '../../../ledger/block.ts';
import { composeSchemas } from '../../../schema/compose.ts';
import { governancePolicyFromJson, governancePolicyToJson } from '../../../schema/evolution/governance-policy.ts';
import { loadPartnerSchemaFiles } from '../../../schema/schema-files.ts';
import type { CliIo } from '../main.ts';

interface GenesisOptions {
  readonly out: string;
  readonly network: string;
  readonly member: string[];
  readonly memberKey: string[];
  readonly own: string[];
  readonly schemaVersion: string;
  readonly schemaDir?: string;
  readonly governance?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerGenesis(program: Command, io: CliIo): void {
  program
    .command('genesis')
    .description('write a network genesis file from the partners\' public node keys')
    .option('--out <file>', 'genesis file to write (never overwritten)', 'genesis.json')
    .requiredOption('--network <name>', 'name of the network')
    .option('--member <partner:publickey>', 'a member node, as printed by `entente keygen` (repeat, in index order)', collect, [])
    .option('--member-key <file>', 'a member node from its key file (repeat; listed after --member entries)', collect, [])
    .option('--own <Type=partner>', 'initial owner of an entity type (repeat)', collect, [])
    .option('--schema-version <n>', 'initial schema version', '1')
    .option('--schema-dir <dir>', 'the first version\'s partner schema files (<partner>.graphql), hashed into the genesis: schema changes replay from it (schema/README.md, "Schema evolution")')
    .option('--governance <class=rule,…>', 'who approves which schema change, e.g. breaking=all,widening=all-affected (missing classes take the defaults)')
    .action(async (options: GenesisOptions) => {
      const members = [...options.member.map(parseMember), ...options.memberKey.map((file) => {
        const key = readNodeKeyFile(file);
        return { partner: key.partner, publicKey: key.publicKey };
      })];
      if (members.length === 0) throw new EntenteError('USAGE', 'a genesis needs at least one member: pass --member partner:publickey or --member-key file');
      const ownership = new Map<string, string>();
      for (const entry of options.own) {
        const [type, partner] = entry.split('=');
        if (type === undefined || partner === undefined || type === '' || partner === '') throw new EntenteError('USAGE', `--own ${entry}: expected Type=partner`);
        if (!members.some((m) => m.partner === partner)) throw new EntenteError('USAGE', `--own ${entry}: ${partner} is not a member; add it with --member`);
        ownership.set(type, partner);
      }
      const schemaVersion = Number(options.schemaVersion);
      if (!Number.isInteger(schemaVersion) || schemaVersion < 0) throw new EntenteError('USAGE', `--schema-version ${options.schemaVersion}: expected a non-negative integer`);
      const membership = createMembership(members);
      const schema = options.schemaDir === undefined ? undefined : await firstSchemaFiles(options.schemaDir, membership.nodes.map((node) => node.partner));
      const governance = options.governance === undefined ? undefined : governancePolicyToJson(governancePolicyFromJson(Object.fromEntries(options.governance.split(',').map((entry) => entry.trim().split('='))), '--governance'));
      const genesis: Genesis = {
        network: options.network, timeMs: Date.now(), schemaVersion, membership, ownership,
        ...(governance === undefined ? {} : { governance }), ...(schema === undefined ? {} : { schema }),
      };
      try {
        await writeGenesisFile(options.out, genesis);
      } catch (error) {
        throw new EntenteError('CONFIG_INVALID', `cannot write ${options.out} (${(error as Error).message}); an existing genesis is never overwritten, pick another --out`, { cause: error });
      }
      io.stdout(`wrote ${options.out}: network ${options.network}, ${members.length} member(s), chain id ${chainIdOf(genesisHash(nodeHasher, genesis))}\n`);
    });
}

/** The files must compose with the members as the network's partners, as every later version must. */
async function firstSchemaFiles(dir: string, partners: readonly string[]): Promise<{ partner: string; source: string }[]> {
  const files = await loadPartnerSchemaFiles(dir);
  if (files.length === 0) throw new EntenteError('USAGE', `--schema-dir ${dir} holds no <partner>.graphql files`);
  const strangers = files.filter((file) => !partners.includes(file.partner)).map((file) => file.partner);
  if (strangers.length > 0) throw new EntenteError('USAGE', `--schema-dir ${dir} has files of ${strangers.join(', ')}, which are not members; add them with --member or remove the files`);
  composeSchemas(files, { partners });
  return files.map(({ partner, source }) => ({ partner, source }));
}

function parseMember(value: string): { partner: string; publicKey: Uint8Array } {
  const at = value.lastIndexOf(':');
  const publicKey = at < 0 ? null : tryFromHex(value.slice(at + 1));
  if (at <= 0 || publicKey === null || publicKey.length !== 32) throw new EntenteError('USAGE', `--member ${value}: expected partner:publickey with a 64-digit hex key (the line \`entente keygen\` prints)`);
  return { partner: value.slice(0, at), publicKey };
}
