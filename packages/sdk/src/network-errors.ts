/**
 * Why a request got no answer, in a few words: the network's failures and the server certificate's problems
 * (each with the option that helps), from the errors fetch rejects with (undici hides the useful part in `cause`).
 */
import { PeriscopeConnectionError, type CertificateProblem } from './errors.js';

/** An attempt that outlived the per-attempt limit (`requestTimeoutMs`). */
export class AttemptTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** OpenSSL's verdicts on a server certificate (Node's `error.code`), in words, by what would fix them. */
const CERTIFICATE_REASONS: Record<string, { problem: CertificateProblem; reason: string }> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: { problem: 'untrusted', reason: 'its certificate is self-signed' },
  SELF_SIGNED_CERT_IN_CHAIN: { problem: 'untrusted', reason: 'its certificate chain ends in a self-signed certificate that is not trusted' },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { problem: 'untrusted', reason: 'its certificate is not signed by a trusted CA' },
  UNABLE_TO_GET_ISSUER_CERT: { problem: 'untrusted', reason: 'its certificate is not signed by a trusted CA' },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: { problem: 'untrusted', reason: 'its certificate is not signed by a trusted CA' },
  ERR_TLS_CERT_ALTNAME_INVALID: { problem: 'wrong-name', reason: 'its certificate is issued for another name' },
  CERT_HAS_EXPIRED: { problem: 'expired', reason: 'its certificate has expired' },
  CERT_NOT_YET_VALID: { problem: 'expired', reason: 'its certificate is not valid yet' },
};

interface FetchCause {
  code?: string;
  message?: string;
  /** On ERR_TLS_CERT_ALTNAME_INVALID: the name checked, and the certificate (`subjectaltname`: what it holds). */
  host?: string;
  cert?: { subjectaltname?: string };
}

function errorCode(error: unknown): FetchCause {
  const cause = (error as { cause?: FetchCause } | undefined)?.cause;
  // Picked one by one: an Error's `message` is not an own enumerable property, so a spread would drop it.
  return { code: cause?.code ?? (error as { code?: string } | undefined)?.code, message: cause?.message, host: cause?.host, cert: cause?.cert };
}

export function certificateProblem(error: unknown): boolean {
  const { code } = errorCode(error);
  return code !== undefined && code in CERTIFICATE_REASONS;
}

/** The connection error for a failed fetch, in a few words: undici hides the useful part in `cause`. */
export function connectionError(master: string, error: unknown): PeriscopeConnectionError {
  if (error instanceof AttemptTimeout) return new PeriscopeConnectionError(master, error.message, error);
  const { code, message, host, cert } = errorCode(error);
  const certificate = code !== undefined ? CERTIFICATE_REASONS[code] : undefined;
  if (certificate) {
    const names = cert?.subjectaltname;
    const detail = certificate.problem === 'wrong-name' && host && names ? ` (${names}), not ${host}` : '';
    return new PeriscopeConnectionError(master, `${certificate.reason}${detail}`, error, certificate.problem);
  }
  if (code && NETWORK_REASONS[code]) return new PeriscopeConnectionError(master, NETWORK_REASONS[code], error);
  return new PeriscopeConnectionError(master, message ?? (error instanceof Error ? error.message : String(error)), error);
}
