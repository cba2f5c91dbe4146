// "Check a proof": paste or choose an entente-proof/2 document; the page checks it on this computer and
// says, in plain words, who signed which change and which partners certified the block.
import { byId, h, hashElement, replaceChildren } from './dom.ts';
import { checkProofText, proofTextBytesMax } from './proof-check.ts';

export function mountProofPanel(): void {
  const input = byId('proof-input') as HTMLTextAreaElement;
  const file = byId('proof-file') as HTMLInputElement;
  byId('proof-check').addEventListener('click', () => showOutcome(input.value));
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    if (chosen.size > proofTextBytesMax) {
      showOutcome('x'.repeat(proofTextBytesMax + 1));
      return;
    }
    void chosen.text().then((text) => {
      input.value = text;
      showOutcome(text);
    });
  });
}

function showOutcome(text: string): void {
  const target = byId('proof-result');
  const outcome = checkProofText(text);
  if (!outcome.ok) {
    target.className = 'proof-result bad';
    replaceChildren(target, h('strong', {}, 'The proof does not hold. '), outcome.reason);
    return;
  }
  const { verdict } = outcome;
  target.className = 'proof-result good';
  replaceChildren(
    target,
    h('strong', {}, '✓ The proof holds.'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Change'), h('dd', {}, `${verdict.operation} of ${verdict.entityType} ${verdict.key}`),
      h('dt', {}, 'Signed by its owner'), h('dd', {}, verdict.owner),
      h('dt', {}, 'Committed in block'), h('dd', {}, `#${verdict.height} `, hashElement(verdict.blockHash)),
      h('dt', {}, 'Certified by'), h('dd', {}, verdict.signers.join(', ')),
      h('dt', {}, 'Network'), h('dd', {}, verdict.network),
      h('dt', {}, 'Genesis'), h('dd', {}, h('code', { class: 'hash full' }, verdict.genesisHash)),
      h('dt', {}, 'Transaction'), h('dd', {}, h('code', { class: 'hash full' }, verdict.txId)),
    ),
    h('p', { class: 'muted' }, `Checked in this browser in ${outcome.milliseconds.toFixed(0)} ms with the same code as \`entente proof --check\`. Compare the genesis hash with your own network's to be sure the signers are your partners.`),
  );
}
