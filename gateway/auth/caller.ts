// Who is calling this gateway. Every variant carries `partner` and `roles`, the shape the schema's
// policy model decides on (schema/policy.ts `Caller`), so a caller can be handed to it as is.
export interface AppCaller {
  readonly kind: 'app';
  /** The partner this gateway serves: an app authenticates only to its own partner's gateway. */
  readonly partner: string;
  /** The token's `sub`, or the API key's id. */
  readonly subject: string;
  readonly roles: readonly string[];
  readonly method: 'jwt' | 'api-key';
}

export interface AnonymousCaller {
  readonly kind: 'anonymous';
  readonly partner: string;
  /** Roles granted to anonymous callers by configuration (often none). */
  readonly roles: readonly string[];
}

/** Another gateway, authenticated by its node key from the genesis file, acting for one of its callers. */
export interface PeerCaller {
  readonly kind: 'peer';
  /** The peer's partner: forwarded requests are decided for that partner, never this gateway's own. */
  readonly partner: string;
  readonly nodeId: string;
  readonly roles: readonly string[];
  /** The subject on whose behalf the peer forwards, for the audit log. */
  readonly onBehalfOf: string | null;
}

export type Caller = AppCaller | AnonymousCaller | PeerCaller;

/** The request facts authentication looks at; header names lower-case, as node:http gives them. */
export interface CredentialSource {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Present for requests whose credentials cover the body (signed peer requests). */
  readonly request?: { readonly method: string; readonly path: string; readonly body: string };
}

export interface Authenticator {
  /** Resolves to the caller, or rejects with EntenteError UNAUTHENTICATED saying what is wrong and how to fix it. */
  authenticate(source: CredentialSource): Promise<Caller>;
  /** True when this request's credentials cover its body, so the server must read it first. */
  needsBody?(source: CredentialSource): boolean;
}

export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'app':
      return `${caller.partner}/${caller.subject}`;
    case 'anonymous':
      return `${caller.partner}/anonymous`;
    case 'peer':
      return `peer ${caller.partner}${caller.onBehalfOf === null ? '' : ` for ${caller.onBehalfOf}`}`;
  }
}
