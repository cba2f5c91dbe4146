// Forwards a mutation on another partner's type to that partner's gateway, as the same GraphQL mutation
// its own clients would send, signed with this node's key (gateway/auth/peer-auth.ts) and on behalf of
// the caller (subject and roles). The owner's gateway authenticates the peer by the genesis key and
// decides with its own schema and rules — a forwarding gateway is never trusted to have checked.
import { EntenteError } from '../../common/errors.ts';
import type { Row, Value } from '../../connectors/connector.ts';
import type { WriteOptions, WriteRequest } from '../../schema/api/context.ts';
import { singleFieldName } from '../../schema/naming.ts';
import { columnFields, primaryKey, type ScalarFieldPolicy, type UnifiedSchema } from '../../schema/policy.ts';
import { PeerRequestSigner } from '../auth/peer-auth.ts';
import { describePeerFailure, PeerAnswerTooLarge, postToPeer, type PeerAnswer } from './peer-post.ts';

export const FORWARD_TIMEOUT_MS = 60_000;
const RESPONSE_BYTES_MAX = 1024 * 1024;

export interface ForwardedAnswer {
  /** The entity's key (column names), as the owner reports it. */
  readonly key: Row;
  readonly transactionId: string | null;
  readonly ledgerHeight: number | null;
}

export interface MutationForwarder {
  forward(request: WriteRequest, options: WriteOptions): Promise<ForwardedAnswer>;
}

export interface HttpMutationForwarderOptions {
  readonly partner: string;
  readonly secretKey: Uint8Array;
  readonly unified: UnifiedSchema;
  /** Owner partner → its gateway's base URL (http:// or https://host:port). */
  readonly gatewayUrl: (partner: string) => string | undefined;
  /** The authorities an https:// owner's certificate must come from (PEM); null or absent: the system's. */
  readonly ca?: readonly string[] | null;
}

export class HttpMutationForwarder implements MutationForwarder {
  private readonly o: HttpMutationForwarderOptions;
  private readonly signer: PeerRequestSigner;
  private ca: readonly string[] | null;

  constructor(options: HttpMutationForwarderOptions) {
    this.o = options;
    this.signer = new PeerRequestSigner(options.partner, options.secretKey);
    this.ca = options.ca ?? null;
  }

  /** The authorities later forwards check owners' certificates against (a reloaded tls.caFile). */
  trustAuthorities(ca: readonly string[] | null): void {
    this.ca = ca;
  }

  async forward(request: WriteRequest, options: WriteOptions): Promise<ForwardedAnswer> {
    const owner = request.type.owner;
    const base = this.o.gatewayUrl(owner);
    if (base === undefined) throw new EntenteError('CONFIG_INVALID', `${request.type.name} is owned by ${owner}, and this gateway has no address for ${owner}'s gateway; add it under "peers"`);
    const { query, variables, fieldName } = this.mutationFor(request, options);
    const body = JSON.stringify({ query, variables });
    const caller = request.caller as { subject?: unknown; onBehalfOf?: unknown; roles: readonly string[] };
    const subject = typeof caller.subject === 'string' ? caller.subject : typeof caller.onBehalfOf === 'string' ? caller.onBehalfOf : 'anonymous';
    const headers = this.signer.headers({ method: 'POST', path: '/graphql', body }, owner, { subject, roles: caller.roles });
    let response: PeerAnswer;
    try {
      response = await postToPeer(new URL('/graphql', base), {
        headers: { ...headers, 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body, timeoutMs: FORWARD_TIMEOUT_MS, responseBytesMax: RESPONSE_BYTES_MAX, ca: this.ca,
      });
    } catch (error) {
      if (error instanceof PeerAnswerTooLarge) throw new EntenteError('PEER_REJECTED', `${owner}'s gateway answered with more than ${RESPONSE_BYTES_MAX} bytes`);
      throw new EntenteError('UNAVAILABLE', `${owner}'s gateway, which owns ${request.type.name}, is unreachable (${describePeerFailure(error)}); nothing was changed — retry later`, { cause: error });
    }
    const text = response.text;
    let result: { data?: Record<string, { transactionId?: string | null; ledgerHeight?: number | null; [key: string]: unknown } | null> | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      result = JSON.parse(text) as typeof result;
    } catch {
      throw new EntenteError('PEER_REJECTED', `${owner}'s gateway answered HTTP ${response.status} without GraphQL JSON`);
    }
    const error = result.errors?.[0];
    if (error !== undefined) {
      const code = error.extensions?.code === 'FORBIDDEN' || error.extensions?.code === 'NOT_FOUND' ? 'FORBIDDEN' : 'PEER_REJECTED';
      throw new EntenteError(code, `${owner}'s gateway refused the change: ${error.message}`);
    }
    const payload = result.data?.[fieldName];
    if (payload === null || payload === undefined) throw new EntenteError('PEER_REJECTED', `${owner}'s gateway returned no result for ${fieldName}`);
    const entity = payload['entity'] as Record<string, Value> | null | undefined;
    const key: Row = Object.fromEntries(this.keyFields(request).map((field) => [field.column, entity?.[field.name] ?? keyValue(request, field.column)]));
    return { key, transactionId: payload.transactionId ?? null, ledgerHeight: payload.ledgerHeight ?? null };
  }

  private keyFields(request: WriteRequest): ScalarFieldPolicy[] {
    const names = primaryKey(request.type) ?? [];
    return columnFields(request.type).filter((field) => names.includes(field.name));
  }

  /** The owner's own mutation for the request, with every value passed as a variable. */
  private mutationFor(request: WriteRequest, options: WriteOptions): { query: string; variables: Record<string, unknown>; fieldName: string } {
    const type = request.type;
    const operation = request.operation;
    const keyFields = this.keyFields(request);
    const single = singleFieldName(type.name);
    const variables: Record<string, unknown> = {};
    const declarations: string[] = [];
    const args: string[] = [];
    // The owner answers at least once the change is on the ledger, so this gateway can wait for its replica.
    const syncMode = options.syncMode === 'all-partners' ? 'ALL_PARTNERS' : 'LEDGER';
    declarations.push('$syncMode: SyncMode');
    args.push('syncMode: $syncMode');
    variables['syncMode'] = syncMode;
    if (options.idempotencyKey !== undefined) {
      declarations.push('$idempotencyKey: String');
      args.push('idempotencyKey: $idempotencyKey');
      variables['idempotencyKey'] = `${this.o.partner}:${options.idempotencyKey}`;
    }
    if (operation.op === 'update' || operation.op === 'delete') {
      keyFields.forEach((field, i) => {
        declarations.push(`$k${i}: ${field.type.name}!`);
        args.push(`${field.name}: $k${i}`);
        variables[`k${i}`] = this.toInput(field, operation.key[field.column] ?? null);
      });
    }
    if (operation.op === 'insert' || operation.op === 'upsert' || operation.op === 'update') {
      const input: Record<string, unknown> = {};
      for (const field of columnFields(type)) {
        const value = operation.values[field.column];
        if (value !== undefined) input[field.name] = this.toInput(field, value);
      }
      declarations.push(`$input: ${type.name}${operation.op === 'update' ? 'Update' : 'Create'}Input!`);
      args.push('input: $input');
      variables['input'] = input;
    }
    const verb = operation.op === 'delete' ? 'delete' : operation.op === 'update' ? 'update' : 'create';
    const fieldName = `${verb}${type.name}`;
    const keySelection = keyFields.map((field) => field.name).join(' ');
    const entity = operation.op === 'delete' || keySelection.length === 0 ? '' : ` entity: ${single} { ${keySelection} }`;
    const query = `mutation Forwarded(${declarations.join(', ')}) { ${fieldName}(${args.join(', ')}) { transactionId ledgerHeight${entity} } }`;
    return { query, variables, fieldName };
  }

  /** Enum values travel as database labels between layers; GraphQL inputs name them. */
  private toInput(field: ScalarFieldPolicy, value: Value): unknown {
    const enumPolicy = this.o.unified.enums.find((candidate) => candidate.name === field.type.name);
    if (enumPolicy === undefined || value === null) return value;
    const name = (label: Value) => enumPolicy.values.find((v) => v.label === label)?.name ?? label;
    return Array.isArray(value) ? value.map(name) : name(value);
  }
}

function keyValue(request: WriteRequest, column: string): Value {
  const operation = request.operation;
  const source = operation.op === 'update' || operation.op === 'delete' ? operation.key : operation.values;
  return source[column] ?? null;
}


