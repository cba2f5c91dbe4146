// A refused certificate is explained in the same words on every Node version: Node 24 appends advice of
// its own to OpenSSL's text, and mysql2 replaces Node's code with HANDSHAKE_SSL_ERROR. The real refusals
// (PostgreSQL, MariaDB, a peer gateway, the consensus transport) are in their own TLS tests; here, the
// error shapes each Node version and driver produces.
import { describe, expect, it } from 'vitest';
import { certificateRefusalReason } from '../../common/tls-refusal.ts';

const refusal = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const node24Advice = '; if the root CA is installed locally, try running Node.js with --use-system-ca';

describe('certificateRefusalReason', () => {
  it('gives OpenSSL\'s text without the advice Node 24 appends', () => {
    expect(certificateRefusalReason(refusal('DEPTH_ZERO_SELF_SIGNED_CERT', `self-signed certificate${node24Advice}`))).toBe('self-signed certificate');
    expect(certificateRefusalReason(refusal('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', `unable to get local issuer certificate${node24Advice}`))).toBe('unable to get local issuer certificate');
    expect(certificateRefusalReason(refusal('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))).toBe('self-signed certificate');
  });

  it('recognises a refusal whose code a driver replaced, by its text, in either OpenSSL spelling', () => {
    expect(certificateRefusalReason(refusal('HANDSHAKE_SSL_ERROR', `self-signed certificate${node24Advice}`))).toBe('self-signed certificate');
    expect(certificateRefusalReason(refusal('HANDSHAKE_SSL_ERROR', 'self signed certificate in certificate chain'))).toBe('self-signed certificate in certificate chain');
    expect(certificateRefusalReason(refusal('HANDSHAKE_SSL_ERROR', 'certificate has expired'))).toBe('certificate has expired');
  });

  it('keeps Node\'s text for a wrong host name (it names both), and says null for anything else', () => {
    const altname = "Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: 127.0.0.1";
    expect(certificateRefusalReason(refusal('ERR_TLS_CERT_ALTNAME_INVALID', altname))).toBe(altname);
    expect(certificateRefusalReason(refusal('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBeNull();
    expect(certificateRefusalReason(refusal('HANDSHAKE_SSL_ERROR', 'wrong version number'))).toBeNull();
    expect(certificateRefusalReason(null)).toBeNull();
  });
});
