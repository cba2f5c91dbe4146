// TLS handshakes with a local test server: which certificate it presents now (after a rotation, say),
// checked against the test authority of test/support/tls, as a client trusting only that authority would.
import { connect, type TLSSocket } from 'node:tls';

/** An open TLS connection to 127.0.0.1:port for the name "localhost", verified against `ca`. */
export function openTls(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: [ca] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The SHA-256 fingerprint of the certificate a new handshake is given. */
export async function servedFingerprint(port: number, ca: string): Promise<string> {
  const socket = await openTls(port, ca);
  const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? 'none';
  socket.destroy();
  return fingerprint;
}
