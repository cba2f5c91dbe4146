// Where a ledger lives on disk: `genesis.json`, `blocks.seg` (the chain) and `blocks.idx` (a rebuildable
// index) in one directory. Commands accept either that directory or a gateway data directory holding it
// as `ledger/`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EntenteError } from '../common/errors.ts';
import { GENESIS_FILE } from './genesis.ts';

export const LEDGER_SUBDIRECTORY = 'ledger';

export function resolveLedgerDirectory(dataDirectory: string): string {
  if (existsSync(join(dataDirectory, GENESIS_FILE))) return dataDirectory;
  const nested = join(dataDirectory, LEDGER_SUBDIRECTORY);
  if (existsSync(join(nested, GENESIS_FILE))) return nested;
  throw new EntenteError('USAGE', `no ledger in ${dataDirectory}: expected ${GENESIS_FILE} there or in ${nested}. Pass the node's data directory with --data.`);
}
