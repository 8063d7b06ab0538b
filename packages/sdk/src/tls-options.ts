/**
 * TLS settings beyond the system defaults (a CA file, another server name, no verification). A module of its
 * own so that tls.ts (which loads tls-node.ts) and tls-node.ts (which applies them) both import it and not
 * each other.
 */
export interface TlsOptions {
  /** PEM file of the certificate authority to trust instead of the system's. */
  certPath: string | undefined;
  /** The name the server's certificate must be valid for (TLS `servername`). */
  certName: string | undefined;
  /** Accept any certificate. */
  noverify: boolean;
}
