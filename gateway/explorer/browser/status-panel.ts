// "Is my gateway working, and where is the network?": gateway health, each readiness check in plain
// words, peers, the schema version in force and the ledger position.
import { byId, errorText, h, hashElement, replaceChildren } from './dom.ts';
import { health, peerCounts, readiness, type PeerCounts, type ReadinessCheckReport, type ReadinessReport } from './gateway-client.ts';
import type { LedgerPosition } from './ledger-queries.ts';

export interface StatusSnapshot {
  readonly schemaVersion: number | null;
}

/** Refreshes the gateway part of the panel (health, readiness, peers); the ledger part is pushed in. */
export async function refreshGatewayStatus(): Promise<StatusSnapshot> {
  const target = byId('gateway-status');
  try {
    const [healthReport, ready, metricsPeers] = await Promise.all([health(), readiness(), peerCounts()]);
    const peers = peersFromReadiness(ready) ?? metricsPeers;
    const checks = Object.entries(ready.checks);
    replaceChildren(
      target,
      card('Gateway', healthReport.status === 'ok' ? 'Running' : 'Shutting down', healthReport.status === 'ok' ? 'good' : 'warn', `Partner ${healthReport.partner}`),
      card('Ready to serve', ready.ready ? 'Yes' : 'No', ready.ready ? 'good' : 'bad', ready.reason ?? (checks.length === 0 ? 'no checks configured' : `${checks.filter(([, check]) => check.ok).length} of ${checks.length} checks pass`), 'status-ready'),
      peers.configured === 0
        ? card('Partners reachable', '—', 'neutral', 'no other partners configured', 'status-peers')
        : card('Partners reachable', peers.connected === null ? '—' : `${peers.connected} of ${peers.configured ?? '?'}`, peers.connected !== null && peers.connected === peers.configured ? 'good' : 'warn', 'other partners\' gateways, heard from recently', 'status-peers'),
      card('Schema version', String(healthReport.schemaVersion), 'neutral', 'the shared API in force', 'status-schema-version'),
    );
    replaceChildren(byId('readiness-checks'), ...checks.map(([name, check]) => checkLine(name, check)));
    return { schemaVersion: healthReport.schemaVersion };
  } catch (error) {
    replaceChildren(target, card('Gateway', 'Unreachable', 'bad', errorText(error)));
    return { schemaVersion: null };
  }
}

/** The ledger's readiness check reports the peers it heard from recently; the best source when present. */
function peersFromReadiness(ready: ReadinessReport): PeerCounts | null {
  for (const check of Object.values(ready.checks)) {
    const heard = check.detail?.['peersHeard'];
    const peers = check.detail?.['peers'];
    if (typeof heard === 'number' && typeof peers === 'number') return { connected: heard, configured: peers };
  }
  return null;
}

export function showLedgerPosition(position: LedgerPosition | { readonly error: string }): void {
  const target = byId('ledger-status');
  if ('error' in position) {
    replaceChildren(target, card('Ledger', 'Unavailable', 'bad', position.error));
    return;
  }
  replaceChildren(
    target,
    card('Blocks in the ledger', String(position.height), 'neutral', position.height === 0 ? 'none committed yet' : 'verified by this gateway', 'status-height'),
    h('div', { class: 'card neutral' }, h('div', { class: 'card-label' }, 'Newest block'), h('div', { class: 'card-value small' }, hashElement(position.head)), h('div', { class: 'card-note' }, 'its hash')),
  );
}

function card(label: string, value: string, tone: 'good' | 'warn' | 'bad' | 'neutral', note: string, id?: string): HTMLElement {
  return h('div', { class: `card ${tone}`, ...(id === undefined ? {} : { id }) }, h('div', { class: 'card-label' }, label), h('div', { class: 'card-value' }, value), h('div', { class: 'card-note' }, note));
}

function checkLine(name: string, check: ReadinessCheckReport): HTMLElement {
  const detail = check.detail === undefined ? '' : Object.entries(check.detail).map(([key, value]) => `${key}: ${String(value)}`).join(', ');
  return h('li', { class: check.ok ? 'check ok' : 'check failing' }, h('span', { class: 'check-mark', 'aria-hidden': 'true' }, check.ok ? '✓' : '✗'), h('strong', {}, name), ' ', check.ok ? detail : (check.reason ?? 'not ready'));
}
