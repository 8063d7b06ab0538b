/**
 * Who a client is: its one login session with its master. The token comes from, in this order, the `token`
 * option, a login with `user` and `password` (once, on the first call that needs it), or the credentials file
 * that `periscope user login` writes (for `user`, else the master's current user); without any, requests go
 * out without a token, which a server started with `--auth none` accepts.
 *
 * Tokens and passwords live only in `#` fields: inspecting a client, or logging one of its errors, never shows
 * them.
 */
import type { LoginAnswer } from '@periscope/core';
import { PeriscopeApiError, reworded } from './errors.js';

/** Where the token comes from (resolved options; see `PeriscopeOptions`). */
export type Credentials =
  | { kind: 'token'; token: string; user: string | undefined }
  | { kind: 'password'; user: string; password: string }
  | { kind: 'file'; user: string | undefined };

/** Logs in without a token (the transport's `POST /auth/login`). */
export type LoginCall = (user: string, password: string) => Promise<LoginAnswer>;

interface Held {
  token: string;
  user: string | undefined;
}

type FiledToken = typeof import('./credentials-file.js');

export class Session {
  readonly #master: string;
  readonly #credentials: Credentials;
  readonly #login: LoginCall;
  /** The token in use (shared by concurrent calls, so one login serves them all); reset to renew it. */
  #held: Promise<Held | undefined> | undefined;
  /** Whose token in use came from the credentials file, if one did (a refusal then says whose login to redo). */
  #filedUser: string | undefined;
  #loggedOut = false;

  constructor(master: string, credentials: Credentials, login: LoginCall) {
    this.#master = master;
    this.#credentials = credentials;
    this.#login = login;
  }

  /** The `Authorization` header for the next request, or undefined to send none. */
  async authorization(): Promise<string | undefined> {
    const held = await this.current();
    return held && `Bearer ${held.token}`;
  }

  /**
   * After the server refused `sent` (401): whether a different token is now to hand, worth one more try. A
   * password client logs in again (its session may have expired); a file client reads the file again (the
   * user may have logged in since). An explicit token is what it is.
   */
  async renew(sent: string | undefined): Promise<boolean> {
    if (this.#loggedOut || this.#credentials.kind === 'token') return false;
    const before = await this.#held?.catch(() => undefined);
    // Another call renewed it meanwhile: try with that one.
    if (before && `Bearer ${before.token}` !== sent) return true;
    this.#held = undefined;
    const after = await this.current();
    return after !== undefined && `Bearer ${after.token}` !== sent;
  }

  /** Logs in with the client's user and password now; the answer carries the token (for a caller to save). */
  async login(): Promise<LoginAnswer> {
    const credentials = this.#credentials;
    if (credentials.kind !== 'password') throw new TypeError('login: this client has no password (pass `user` and `password`)');
    this.#loggedOut = false;
    const answer = this.passwordLogin(credentials.user, credentials.password);
    this.hold(answer.then((a) => ({ token: a.token, user: a.user.username })));
    return answer;
  }

  /** After logout: nothing more is sent (a password client does not log in again behind the caller's back). */
  end(): void {
    this.#loggedOut = true;
    this.#held = undefined;
  }

  /** The error for a request still refused with 401: what was sent, and what to do about it. */
  refused(error: PeriscopeApiError): PeriscopeApiError {
    const master = this.#master;
    const reason = error.message.replace(/\.$/, '');
    if (this.#loggedOut) return reworded(error, `This client logged out of ${master}; make a new client to log in again`);
    const credentials = this.#credentials;
    switch (credentials.kind) {
      case 'token':
        return reworded(error, `${master} refused the token (${reason})`);
      case 'password':
        return reworded(error, `${master} refused the session of ${credentials.user} (${reason})`);
      case 'file': {
        const filed = this.#filedUser;
        if (filed === undefined) {
          const user = credentials.user;
          return reworded(error, `Not logged in to ${master}${user ? ` as ${user}` : ''}: run \`periscope user login${user ? ` ${user}` : ''}\`, or pass user and password`);
        }
        return reworded(error, `The saved login of ${filed} at ${master} was refused (${reason}): run \`periscope user login ${filed}\` again, or pass user and password`);
      }
    }
  }

  private current(): Promise<Held | undefined> {
    if (this.#loggedOut) return Promise.resolve(undefined);
    return this.#held ?? this.hold(this.obtain());
  }

  private hold(held: Promise<Held | undefined>): Promise<Held | undefined> {
    this.#held = held;
    // A failed login is not remembered: the next call tries again.
    held.catch(() => {
      if (this.#held === held) this.#held = undefined;
    });
    return held;
  }

  private async obtain(): Promise<Held | undefined> {
    const credentials = this.#credentials;
    switch (credentials.kind) {
      case 'token':
        return { token: credentials.token, user: credentials.user };
      case 'password': {
        const answer = await this.passwordLogin(credentials.user, credentials.password);
        return { token: answer.token, user: answer.user.username };
      }
      case 'file': {
        const files = await loadCredentialsFile();
        if (!files) return undefined;
        const found = await files.filedToken(this.#master, credentials.user);
        this.#filedUser = found?.user;
        return found;
      }
    }
  }

  private async passwordLogin(user: string, password: string): Promise<LoginAnswer> {
    try {
      return await this.#login(user, password);
    } catch (error) {
      if (error instanceof PeriscopeApiError && (error.code === 'UNAUTHORIZED' || error.code === 'TOO_MANY_REQUESTS')) {
        throw reworded(error, `Login as ${user} at ${this.#master} failed: ${error.message}`);
      }
      throw error;
    }
  }
}

let loaded: Promise<FiledToken | undefined> | undefined;

/**
 * The credentials-file reader, loaded on first use by a specifier built at run time (so a browser bundle
 * leaves `node:fs` out); where it cannot load (a browser), there is no file and so no token from one.
 */
function loadCredentialsFile(): Promise<FiledToken | undefined> {
  // Not even tried in a browser: the request would fetch a page of the site as a module (an error in its console).
  if (!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node) return Promise.resolve(undefined);
  const specifier = ['.', 'credentials-file.js'].join('/');
  loaded ??= (import(specifier) as Promise<FiledToken>).catch(() => undefined);
  return loaded;
}
