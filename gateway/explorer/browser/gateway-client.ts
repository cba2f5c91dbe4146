// How the explorer page talks to the gateway that served it: GraphQL over HTTP on the same origin and the
// operator endpoints. A credential (API key or token) the user pasted is kept for this browser tab only
// (sessionStorage) and sent as a Bearer value, which the gateway accepts for both.

const credentialStorageKey = 'entente-explorer-credential';

export function credential(): string | null {
  return sessionStorage.getItem(credentialStorageKey);
}

export function setCredential(value: string | null): void {
  if (value === null || value.trim().length === 0) sessionStorage.removeItem(credentialStorageKey);
  else sessionStorage.setItem(credentialStorageKey, value.trim());
}

export function authorizationHeaders(): Record<string, string> {
  const value = credential();
  return value === null ? {} : { authorization: `Bearer ${value}` };
}

/** A GraphQL error or an HTTP failure, with the gateway's own message. */
export class GatewayRequestError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'GatewayRequestError';
    this.status = status;
  }
}

interface GraphQLAnswer<T> {
  readonly data?: T | null;
  readonly errors?: readonly { readonly message: string }[];
}

export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...authorizationHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  let answer: GraphQLAnswer<T>;
  try {
    answer = (await response.json()) as GraphQLAnswer<T>;
  } catch {
    throw new GatewayRequestError(`the gateway answered ${response.status} without a GraphQL result`, response.status);
  }
  if (answer.errors !== undefined && answer.errors.length > 0) throw new GatewayRequestError(answer.errors.map((error) => error.message).join('; '), response.status);
  if (answer.data === undefined || answer.data === null) throw new GatewayRequestError(`the gateway answered ${response.status} with no data`, response.status);
  return answer.data;
}

export interface HealthReport {
  readonly status: string;
  readonly partner: string;
  readonly schemaVersion: number;
}

export interface ReadinessCheckReport {
  readonly ok: boolean;
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
  readonly reason?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly reason?: string;
  readonly checks: Readonly<Record<string, ReadinessCheckReport>>;
}

export async function health(): Promise<HealthReport> {
  return (await (await fetch('/health')).json()) as HealthReport;
}

/** /ready answers 503 with the same body when not ready, so the body is read either way. */
export async function readiness(): Promise<ReadinessReport> {
  return (await (await fetch('/ready')).json()) as ReadinessReport;
}

export interface PeerCounts {
  readonly connected: number | null;
  readonly configured: number | null;
}

/** Peer counts from the Prometheus text at /metrics (the only place the gateway reports them today). */
export async function peerCounts(): Promise<PeerCounts> {
  const response = await fetch('/metrics');
  if (!response.ok) return { connected: null, configured: null };
  const text = await response.text();
  return { connected: gaugeValue(text, 'entente_peers_connected'), configured: gaugeValue(text, 'entente_peers_configured') };
}

function gaugeValue(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return match === null ? null : Number(match[1]);
}
