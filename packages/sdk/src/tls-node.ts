/** Node only: undici's fetch through an Agent with the client's TLS settings (see tls.ts). */
import { readFile } from 'node:fs/promises';
import { Agent, fetch as undiciFetch_ } from 'undici';
import type { TlsOptions } from './tls-options.js';

export async function undiciFetch(tls: TlsOptions): Promise<typeof fetch> {
  let ca: string | undefined;
  if (tls.certPath !== undefined) {
    ca = await readFile(tls.certPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new TypeError(`certPath: cannot read ${JSON.stringify(tls.certPath)} (${error.code ?? error.message})`);
    });
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new TypeError(`certPath: ${JSON.stringify(tls.certPath)} holds no PEM certificate`);
  }
  const dispatcher = new Agent({
    connect: {
      ...(ca !== undefined && { ca }),
      ...(tls.certName !== undefined && { servername: tls.certName }),
      rejectUnauthorized: !tls.noverify,
    },
  });
  // undici's Request/Response are the same web classes in shape; its types differ from lib.dom's in details.
  return ((input: string | URL | Request, init?: RequestInit) => undiciFetch_(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}
