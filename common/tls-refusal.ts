// Why a TLS peer's certificate was refused, in the same words on every Node version. Node reports a
// refusal with OpenSSL's short text ("self-signed certificate"), and Node 24 appends advice of its own
// ("; if the root CA is installed locally, try running Node.js with --use-system-ca") that does not fit
// what Entente's messages then tell the operator to change (sslrootcert, ssl-ca, tls.caFile). Every
// layer that explains a refusal takes the reason from here.

/** OpenSSL's text for each of Node's certificate refusal codes. */
const reasonByCode: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
};

/** Refusals that mean "not from an authority trusted here" (the fix: name the authority). */
export const untrustedIssuerCodes: ReadonlySet<string> = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/** OpenSSL 1.1 spelled it without the hyphen; a driver that replaced the code leaves only the text. */
const selfSignedOldSpelling = /^self signed/;

/**
 * The reason a certificate was refused, or null when `error` is not a certificate refusal. Drivers that
 * replace Node's code with their own (mysql2: HANDSHAKE_SSL_ERROR) are recognised by the text.
 */
export function certificateRefusalReason(error: unknown): string | null {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && code in reasonByCode) return reasonByCode[code]!;
  if (typeof message !== 'string') return null;
  // A wrong host name: Node's text names the host and the names the certificate holds, with no advice.
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return message;
  const text = message.replace(selfSignedOldSpelling, 'self-signed');
  for (const reason of Object.values(reasonByCode)) if (text === reason || text.startsWith(`${reason};`)) return reason;
  return null;
}
