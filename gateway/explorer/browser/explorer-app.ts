// The explorer page's entry point: wires the panels to the gateway that served the page. New blocks are
// found by asking for the ledger height every second (the API has no block subscription; a query per
// second per open page is cheap), and the gateway status is refreshed every five seconds.
import './explorer.css';
import { errorText } from './dom.ts';
import { BlocksPanel } from './blocks-panel.ts';
import { mountCredentialForm } from './credential-form.ts';
import { ledgerPosition } from './ledger-queries.ts';
import { mountProofPanel } from './proof-panel.ts';
import { refreshGatewayStatus, showLedgerPosition } from './status-panel.ts';

export const ledgerPollMs = 1_000;
export const statusPollMs = 5_000;

const blocks = new BlocksPanel();

/** Runs `task` every `periodMs`, never two at once (a slow gateway must not pile up requests). */
function every(periodMs: number, task: () => Promise<void>): void {
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await task();
    } finally {
      running = false;
    }
  };
  void tick();
  setInterval(() => void tick(), periodMs);
}

async function followLedger(): Promise<void> {
  try {
    const position = await ledgerPosition();
    showLedgerPosition(position);
    await blocks.catchUp(position.height);
    document.body.dataset['ledgerHeight'] = String(position.height);
  } catch (error) {
    showLedgerPosition({ error: errorText(error) });
  }
}

mountCredentialForm();
mountProofPanel();
every(statusPollMs, async () => void (await refreshGatewayStatus()));
every(ledgerPollMs, followLedger);
