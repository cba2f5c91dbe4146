// Gateways of a test network, all in this process on loopback: what the multi-gateway tests share.
import { join } from 'node:path';
import type { Connector } from '../../../connectors/connector.ts';
import type { Authenticator } from '../../../gateway/auth/caller.ts';
import { startNetworkGateway, type NetworkGateway, type NetworkPeer } from '../../../gateway/node/network-gateway.ts';
import { createLogger } from '../../../gateway/server/logger.ts';
import type { Genesis } from '../../../ledger/genesis.ts';
import type { UnifiedSchema } from '../../../schema/policy.ts';

export interface TestGatewayOptions {
  readonly unified: UnifiedSchema;
  readonly partner: string;
  readonly connector: Connector;
  readonly genesis: Genesis;
  readonly secretKey: Uint8Array;
  /** The test's directory; the gateway's ledger goes to `<root>/<partner>/ledger`. */
  readonly root: string;
  /** Ephemeral unless given: a restarted gateway takes its old ports, where the other gateways' peers still point. */
  readonly ports?: { readonly http: number; readonly consensus: number };
}

/** Every local caller is the partner's own user with role "staff". */
export const staffAuthenticator = (partner: string): Authenticator => ({ authenticate: async () => ({ kind: 'anonymous', partner, roles: ['staff'] }) });

/** One partner's gateway: local callers as staff, silent logs, an empty block after 300 ms idle. */
export function startTestGateway(options: TestGatewayOptions): Promise<NetworkGateway> {
  const { unified, partner, connector, genesis, secretKey, root, ports } = options;
  return startNetworkGateway({
    unified, partner, connector, genesis, secretKey, ledgerDirectory: join(root, partner, 'ledger'),
    listen: { host: '127.0.0.1', port: ports?.http ?? 0 }, consensusListen: { host: '127.0.0.1', port: ports?.consensus ?? 0 },
    appAuthenticator: staffAuthenticator(partner), anonymousAllowed: true, logger: createLogger({ level: 'silent' }), emptyBlockDelayMs: 300,
  });
}

/** The ports a gateway listens on, for starting it again in the same place. */
export function portsOf(gateway: NetworkGateway): { readonly http: number; readonly consensus: number } {
  return { http: gateway.port, consensus: Number(new URL(gateway.consensusUrl).port) };
}

/** Where each of `gateways` is, as its peers need it, leaving out `except`. */
export function peersOf(gateways: Iterable<NetworkGateway>, except: string): NetworkPeer[] {
  return [...gateways].filter((gateway) => gateway.partner !== except).map((gateway) => ({ partner: gateway.partner, url: gateway.url.replace(/\/graphql$/, ''), consensusUrl: gateway.consensusUrl }));
}
