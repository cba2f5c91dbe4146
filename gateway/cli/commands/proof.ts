// `entente proof <txId> --data <dir>` prints a self-contained JSON proof of one transaction;
// `entente proof --check <file|->` verifies such a proof offline (no ledger, no network needed) and
// prints who signed what at which height, or exits 1 naming the step that failed.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EntenteError } from '../../../common/errors.ts';
import { ed25519Verifier } from '../../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../../ledger/crypto/sha256-node.ts';
import { proveTransaction } from '../../../ledger/ledger-queries.ts';
import { checkTransactionProof } from '../../../ledger/proof.ts';
import type { CliIo } from '../main.ts';

const PROOF_FILE_BYTES_MAX = 1024 * 1024;

export function registerProof(program: Command, io: CliIo): void {
  program
    .command('proof')
    .description('print a self-contained inclusion proof for a transaction, or check one offline')
    .argument('[txId]', 'transaction id (hex)')
    .option('--data <dir>', 'ledger directory')
    .option('--check <file>', 'verify a proof file offline (- for stdin)')
    .action(async (txId: string | undefined, options: { data?: string; check?: string }) => {
      if (options.check !== undefined) {
        const verdict = checkTransactionProof(nodeHasher, ed25519Verifier, await readProof(options.check));
        io.stdout(
          [
            `proof OK: transaction ${verdict.txId}`,
            `  ${verdict.operation} ${verdict.entityType} ${JSON.stringify(verdict.key)}, signed by its owner ${verdict.owner}`,
            `  committed at height ${verdict.height} in block ${verdict.blockHash}`,
            `  certified by ${verdict.signers.join(', ')} (membership ${verdict.membershipHash})`,
            `  network ${verdict.network}, genesis ${verdict.genesisHash} — compare these with your own genesis`,
            '',
          ].join('\n'),
        );
        return;
      }
      if (txId === undefined || options.data === undefined) throw new EntenteError('USAGE', 'give a transaction id and --data <dir> to make a proof, or --check <file> to verify one');
      io.stdout(`${JSON.stringify(await proveTransaction(options.data, txId), null, 2)}\n`);
    });
}

async function readProof(source: string): Promise<unknown> {
  let text: string;
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (error) {
    throw new EntenteError('USAGE', `cannot read the proof ${source}: ${(error as Error).message}`, { cause: error });
  }
  if (text.length > PROOF_FILE_BYTES_MAX) throw new EntenteError('PROOF_INVALID', `the proof is ${text.length} bytes; a proof is far below ${PROOF_FILE_BYTES_MAX}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EntenteError('PROOF_INVALID', `the proof ${source} is not JSON`, { cause: error });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > PROOF_FILE_BYTES_MAX) break;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
