// Blocks as they commit, newest first, and the transactions of the block the user opens: when, which
// shared type, created/updated/deleted, which row, and — on request — the row as this partner may read it.
import { byId, errorText, formatTime, h, hashElement, replaceChildren } from './dom.ts';
import { entityData } from './entity-data.ts';
import { checkProofText } from './proof-check.ts';
import { blocksPerRequestMax, ledgerBlocks, ledgerTransactions, transactionsShownMax, type LedgerBlock, type LedgerTransaction } from './ledger-queries.ts';

/** Rows shown in the block list, and blocks kept in memory (the rest are fetched again on demand). */
export const blocksShownMax = 50;
export const blocksKeptMax = 500;

/** Transactions that change the network itself rather than a shared type. */
const governanceWords: Readonly<Record<string, string>> = { $schema: 'Schema change', $membership: 'Membership change' };

const operationWords: Readonly<Record<LedgerTransaction['operation'], string>> = { INSERT: 'created', UPDATE: 'updated', DELETE: 'deleted' };

/**
 * The block list. Consensus also commits blocks holding nothing this partner may see (empty ones, and
 * other partners' private changes); they are hidden unless the user asks for them, so what matters to
 * a reader is not buried. The list holds a contiguous run of heights, newest first.
 */
export class BlocksPanel {
  private blocks: LedgerBlock[] = [];
  private shownHeight = 0;
  private selected: number | null = null;
  private readonly showEmpty: HTMLInputElement;
  private readonly loadOlderButton: HTMLButtonElement;

  constructor() {
    this.showEmpty = byId('show-empty-blocks') as HTMLInputElement;
    this.showEmpty.addEventListener('change', () => this.renderList());
    this.loadOlderButton = byId('load-older') as HTMLButtonElement;
    this.loadOlderButton.addEventListener('click', () => void this.loadOlder());
  }

  /** Shows blocks up to `height` that are not shown yet (at most blocksPerRequestMax per call). */
  async catchUp(height: number): Promise<void> {
    if (height <= this.shownHeight) {
      if (this.blocks.length === 0) this.renderList();
      return;
    }
    const from = Math.max(this.shownHeight + 1, height - blocksPerRequestMax + 1);
    const fresh = await ledgerBlocks(from, height);
    // More blocks than one request brings arrived: start over from the newest instead of leaving a gap.
    if (from > this.shownHeight + 1) this.blocks = [];
    this.shownHeight = height;
    this.blocks.unshift(...fresh);
    this.blocks.length = Math.min(this.blocks.length, blocksKeptMax);
    this.renderList(new Set(fresh.map((block) => block.height)));
  }

  private async loadOlder(): Promise<void> {
    const lowest = this.blocks.at(-1)?.height ?? this.shownHeight + 1;
    if (lowest <= 1) return;
    this.loadOlderButton.disabled = true;
    try {
      const older = await ledgerBlocks(Math.max(1, lowest - blocksPerRequestMax), lowest - 1);
      this.blocks.push(...older);
      this.blocks.length = Math.min(this.blocks.length, blocksKeptMax);
    } finally {
      this.loadOlderButton.disabled = false;
      this.renderList();
    }
  }

  private renderList(fresh: ReadonlySet<number> = new Set()): void {
    const body = byId('blocks-body');
    const withChanges = this.blocks.filter((block) => block.transactionIds.length > 0);
    const listed = (this.showEmpty.checked ? this.blocks : withChanges).slice(0, blocksShownMax);
    const lowest = this.blocks.at(-1)?.height ?? 1;
    this.loadOlderButton.hidden = lowest <= 1 || this.blocks.length >= blocksKeptMax;
    const hidden = this.blocks.length - withChanges.length;
    byId('blocks-hidden').textContent = this.showEmpty.checked || hidden === 0 ? '' : `${hidden} of the ${this.blocks.length} newest blocks hold no changes you may see and are hidden.`;
    if (listed.length === 0) {
      const message = this.blocks.length === 0 ? 'No blocks yet. They appear here, live, as soon as the partners commit a change.' : 'No changes you may see in these blocks yet. New ones appear here, live.';
      replaceChildren(body, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, message)));
      return;
    }
    replaceChildren(body, ...listed.map((block) => this.blockRow(block, fresh.has(block.height))));
    const versions = [...new Set(listed.map((block) => block.schemaVersion))].sort((a, b) => a - b);
    byId('schema-versions').textContent = `Schema version${versions.length === 1 ? '' : 's'} in the blocks shown: ${versions.map((version) => `v${version}`).join(', ')}.`;
  }

  private blockRow(block: LedgerBlock, fresh: boolean): HTMLElement {
    const classes = ['block-row', fresh ? 'fresh' : '', block.height === this.selected ? 'selected' : ''].filter(Boolean).join(' ');
    return h(
      'tr',
      { class: classes, 'data-height': block.height, tabindex: 0, onclick: () => void this.open(block), onkeydown: (event: Event) => { if ((event as KeyboardEvent).key === 'Enter') void this.open(block); } },
      h('td', { class: 'num' }, `#${block.height}`),
      h('td', {}, formatTime(block.time)),
      h('td', {}, block.proposer),
      h('td', { class: 'num' }, block.transactionIds.length),
      h('td', { class: 'num' }, `v${block.schemaVersion}`),
      h('td', {}, hashElement(block.hash)),
    );
  }

  private async open(block: LedgerBlock): Promise<void> {
    this.selected = block.height;
    document.querySelectorAll('.block-row').forEach((row) => row.classList.toggle('selected', row.getAttribute('data-height') === String(block.height)));
    const target = byId('block-detail');
    replaceChildren(target, h('h2', {}, `Block #${block.height}`), h('p', { class: 'muted' }, 'Loading its transactions…'));
    let transactions: LedgerTransaction[];
    try {
      transactions = await ledgerTransactions(block.transactionIds);
    } catch (error) {
      replaceChildren(target, h('h2', {}, `Block #${block.height}`), h('p', { class: 'error' }, `Could not load the transactions: ${errorText(error)}`));
      return;
    }
    replaceChildren(
      target,
      h('h2', {}, `Block #${block.height}`),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Committed'), h('dd', {}, formatTime(block.time)),
        h('dt', {}, 'Proposed by'), h('dd', {}, block.proposer),
        h('dt', {}, 'Schema version'), h('dd', {}, `v${block.schemaVersion}`),
        h('dt', {}, 'Block hash'), h('dd', {}, h('code', { class: 'hash full' }, block.hash)),
        h('dt', {}, 'Previous block'), h('dd', {}, block.previousHash === null ? '— (first block)' : h('code', { class: 'hash full' }, block.previousHash)),
        h('dt', {}, 'Transactions root'), h('dd', {}, h('code', { class: 'hash full' }, block.merkleRoot)),
      ),
      transactions.length === 0
        ? h('p', { class: 'muted' }, 'This block holds no transactions you may see.')
        : transactionTable(block, transactions),
      block.transactionIds.length > transactionsShownMax ? h('p', { class: 'muted' }, `Showing the first ${transactionsShownMax} of ${block.transactionIds.length} transactions.`) : null,
    );
  }
}

function transactionTable(block: LedgerBlock, transactions: readonly LedgerTransaction[]): HTMLElement {
  return h(
    'table',
    { class: 'transactions', id: 'transactions' },
    h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'What'), h('th', {}, 'Change'), h('th', {}, 'Which record'), h('th', {}, 'Transaction'), h('th', {}, ''))),
    h('tbody', {}, ...transactions.map((transaction) => transactionRows(block, transaction)).flat()),
  );
}

function transactionRows(block: LedgerBlock, transaction: LedgerTransaction): HTMLElement[] {
  const detail = h('td', { colspan: 6 });
  const detailRow = h('tr', { class: 'transaction-detail', hidden: true }, detail);
  const toggle = (render: () => Promise<void>) => async () => {
    detailRow.hidden = false;
    replaceChildren(detail, h('span', { class: 'muted' }, 'Loading…'));
    try {
      await render();
    } catch (error) {
      replaceChildren(detail, h('span', { class: 'error' }, errorText(error)));
    }
  };
  const showData = toggle(async () => {
    const data = await entityData(transaction.type, transaction.key);
    if (data.kind === 'row') replaceChildren(detail, h('div', { class: 'muted' }, `The ${transaction.type} as you may see it now:`), recordTable(data.row));
    else replaceChildren(detail, h('span', { class: 'muted' }, data.kind === 'absent' ? `This ${transaction.type} no longer exists (or is not shared with you).` : `Your partner's grants do not include reading ${transaction.type} data; only the fact of the change is shown.`));
  });
  const showProof = toggle(async () => {
    // The gateway serves the complete proof; it is checked here, with the CLI's code, so the page does
    // not have to trust the gateway that served it.
    if (transaction.proofDocument !== null && transaction.proofDocument !== undefined) {
      const outcome = checkProofText(JSON.stringify(transaction.proofDocument));
      replaceChildren(
        detail,
        outcome.ok
          ? h('div', { class: 'proof-result good' }, h('strong', {}, '✓ The proof holds. '), `${outcome.verdict.operation} of ${outcome.verdict.entityType}, signed by its owner ${outcome.verdict.owner}, committed in block #${outcome.verdict.height}, certified by ${outcome.verdict.signers.join(', ')} (checked in this browser in ${outcome.milliseconds.toFixed(0)} ms).`)
          : h('div', { class: 'proof-result bad' }, h('strong', {}, 'The proof does not hold. '), outcome.reason),
      );
      return;
    }
    replaceChildren(
      detail,
      h('p', {}, `Merkle inclusion of this transaction in block #${transaction.proof.blockHeight} (leaf ${transaction.proof.leafIndex}, ${transaction.proof.siblings.length} sibling hashes up to the transactions root). For a complete proof with the partners' signatures, which anyone can check offline, run:`),
      h('pre', { class: 'command' }, `npx entente proof ${transaction.id} --data <ledger directory> > proof.json`),
      h('p', {}, 'then check it under “Check a proof” below, or with ', h('code', {}, 'npx entente proof --check proof.json'), '.'),
    );
  });
  const governance = governanceWords[transaction.type];
  const keyText = Object.entries(transaction.key).map(([name, value]) => `${name} ${JSON.stringify(value)}`).join(', ');
  return [
    h(
      'tr',
      { class: 'transaction-row', 'data-transaction': transaction.id },
      h('td', {}, formatTime(block.time)),
      h('td', {}, governance ?? transaction.type),
      h('td', { class: `op ${transaction.operation.toLowerCase()}` }, operationWords[transaction.operation]),
      h('td', {}, keyText.length > 0 ? h('code', {}, keyText) : h('span', { class: 'muted', title: 'The record\'s key is shared only with the partners that may read it.' }, '— not shared with you')),
      h('td', {}, hashElement(transaction.id)),
      h(
        'td',
        { class: 'actions' },
        governance === undefined && keyText.length > 0 ? h('button', { type: 'button', onclick: () => void showData() }, 'Show data') : null,
        h('button', { type: 'button', onclick: () => void showProof() }, 'Proof'),
      ),
    ),
    detailRow,
  ];
}

function recordTable(row: Readonly<Record<string, unknown>>): HTMLElement {
  return h('table', { class: 'record' }, h('tbody', {}, ...Object.entries(row).map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value === null ? '—' : typeof value === 'string' ? value : JSON.stringify(value))))));
}
