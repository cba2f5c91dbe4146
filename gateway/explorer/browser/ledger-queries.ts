// The GraphQL reads the explorer makes on the ledger (schema/api/ledger-fields.ts), typed. The gateway
// answers only what the signed-in caller may see: a block lists only its visible transactions, and a
// transaction of a type the caller may not read is null, exactly like one that does not exist.
import { graphql } from './gateway-client.ts';

export interface LedgerPosition {
  readonly height: number;
  readonly head: string | null;
}

export interface LedgerBlock {
  readonly height: number;
  readonly hash: string;
  readonly previousHash: string | null;
  readonly merkleRoot: string;
  readonly time: string;
  readonly proposer: string;
  readonly schemaVersion: number;
  readonly transactionIds: readonly string[];
}

export interface InclusionProof {
  readonly blockHeight: number;
  readonly blockHash: string;
  readonly merkleRoot: string;
  readonly leafHash: string;
  readonly leafIndex: number;
  readonly siblings: readonly string[];
}

export interface LedgerTransaction {
  readonly id: string;
  readonly height: number;
  readonly type: string;
  readonly operation: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly key: Readonly<Record<string, unknown>>;
  readonly owner: string;
  readonly proof: InclusionProof;
  /** The complete entente-proof/2 document, when the gateway provides one. */
  readonly proofDocument: unknown;
}

/** Blocks fetched in one request at most; older ones are fetched as the user scrolls back. */
export const blocksPerRequestMax = 20;
/** Transactions of one block shown at most (a block can hold thousands). */
export const transactionsShownMax = 100;

const blockFields = 'height hash previousHash merkleRoot time proposer schemaVersion transactionIds';
const transactionFields = 'id height type operation key owner proofDocument proof { blockHeight blockHash merkleRoot leafHash leafIndex siblings }';

export async function ledgerPosition(): Promise<LedgerPosition> {
  const data = await graphql<{ ledger: LedgerPosition }>('query ExplorerLedgerPosition { ledger { height head } }');
  return data.ledger;
}

/** Blocks `from`..`to` (inclusive, at most blocksPerRequestMax), newest first; missing ones left out. */
export async function ledgerBlocks(from: number, to: number): Promise<LedgerBlock[]> {
  const heights: number[] = [];
  for (let height = to; height >= Math.max(from, 1) && heights.length < blocksPerRequestMax; height--) heights.push(height);
  if (heights.length === 0) return [];
  const selections = heights.map((height) => `b${height}: block(height: ${height}) { ${blockFields} }`).join(' ');
  const data = await graphql<{ ledger: Record<string, LedgerBlock | null> }>(`query ExplorerBlocks { ledger { ${selections} } }`);
  return heights.map((height) => data.ledger[`b${height}`]).filter((block): block is LedgerBlock => block !== null && block !== undefined);
}

/** The transactions with these ids the caller may see (others are left out). */
export async function ledgerTransactions(ids: readonly string[]): Promise<LedgerTransaction[]> {
  const shown = ids.slice(0, transactionsShownMax);
  if (shown.length === 0) return [];
  const variables = Object.fromEntries(shown.map((id, index) => [`t${index}`, id]));
  const declarations = shown.map((_id, index) => `$t${index}: String!`).join(', ');
  const selections = shown.map((_id, index) => `t${index}: transaction(id: $t${index}) { ${transactionFields} }`).join(' ');
  const data = await graphql<{ ledger: Record<string, LedgerTransaction | null> }>(`query ExplorerTransactions(${declarations}) { ledger { ${selections} } }`, variables);
  return shown.map((_id, index) => data.ledger[`t${index}`]).filter((transaction): transaction is LedgerTransaction => transaction !== null && transaction !== undefined);
}
