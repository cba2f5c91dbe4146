// `entente verify --data <dir>`: recompute a stored ledger from genesis (every hash, signature, quorum,
// ownership and payload commitment). Exit 0 and the head when everything holds; exit 1 naming the first
// bad block, the transaction and the failed rule otherwise.
import type { Command } from 'commander';
import { EntenteError } from '../../../common/errors.ts';
import { verifyLedger, type VerifyReport } from '../../../ledger/verify-ledger.ts';
import { createSchemaJudge, genesisSchemaState } from '../../../schema/evolution/schema-judge.ts';
import type { CliIo } from '../main.ts';

export function registerVerify(program: Command, io: CliIo): void {
  program
    .command('verify')
    .description('recompute and check a stored ledger from genesis; names the first bad block')
    .requiredOption('--data <dir>', 'ledger directory (or a node data directory holding ledger/)')
    .option('--json', 'print the report as JSON')
    .action(async (options: { data: string; json?: boolean }) => {
      // A genesis holding the first schema files lets verify replay every schema activation offline too.
      const report = await verifyLedger(options.data, {
        schemaJudgeFor: (genesis, hasher) => {
          const initial = genesis.schema === undefined ? null : genesisSchemaState(hasher, genesis);
          return initial === null ? undefined : createSchemaJudge(hasher, initial);
        },
      });
      io.stdout(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report));
      if (report.violation !== undefined) {
        const v = report.violation;
        const tx = v.txIndex === undefined ? '' : `, transaction ${v.txIndex}${v.txId === undefined ? '' : ` (${v.txId})`}`;
        throw new EntenteError('LEDGER_CORRUPT', `ledger verification FAILED at block ${v.height}${tx}: rule ${v.rule}: ${v.message}. Blocks 1..${report.height} are valid; restore the rest from a partner (entente node re-syncs it).`, { details: { height: v.height, rule: v.rule } });
      }
    });
}

function describeReport(report: VerifyReport): string {
  const seconds = (report.durationMs / 1000).toFixed(2);
  const rate = report.durationMs > 0 ? Math.round(report.transactions / (report.durationMs / 1000)) : 0;
  return [
    `ledger   ${report.directory} (network ${report.network}, genesis ${report.genesisHash})`,
    `${report.ok ? 'verified' : 'valid prefix'} ${report.blocks} blocks, ${report.transactions} transactions, ${report.payloads} payloads, ${report.signatures} signatures, ${report.bytes} bytes in ${seconds} s (${rate} tx/s)`,
    `height   ${report.height}`,
    `head     ${report.headHash}`,
    '',
  ].join('\n');
}
