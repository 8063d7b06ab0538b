/**
 * Who is calling: users with scrypt-hashed passwords, login sessions and executors' task tokens. Everything
 * that decides whether a token is good lives here; the HTTP hook only asks.
 */
import {
  ConflictError,
  NotFoundError,
  UnauthorizedError,
  formatTime,
  type CreateUserRequest,
  type LoginAnswer,
  type UpdateUserRequest,
  type User,
} from '@periscope/core';
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { LoginLimiter } from './login-limiter.js';
import { DEFAULT_PASSWORD_COST, determinedPreHash, hashPassword, randomPassword, verifyPassword } from './passwords.js';
import { UsernameTakenError, type TokenRecord, type UserRecord, type UserStore } from './store.js';
import { mintToken, parseToken, verifiersMatch } from './tokens.js';

/** The first user, created on first start; whatever existed before users belongs to it. */
export const FIRST_ADMIN = 'admin';

export interface Principal {
  username: string;
  admin: boolean;
  /** Present for an executor's token: the one trial (and its experiment) it may act on. */
  task?: { trialId: number; experimentId: string };
  /** The token's selector, so logout can revoke exactly it (absent when auth is off). */
  selector?: string;
}

/** The list filter for a caller: their own things, or (for an admin) everyone's. */
export function ownedBy(principal: Principal): { owner?: string } {
  return principal.admin ? {} : { owner: principal.username };
}

export interface UserServiceOptions {
  /** How long a login session lasts (default 30 days). */
  sessionTtlMs?: number;
  /** scrypt's N for new hashes (default 16384; tests lower it). */
  passwordCost?: number;
  limiter?: LoginLimiter;
  /** Whether a trial has finished: a task token is dead from then on, even before its row is purged. */
  trialFinished?: (trialId: number) => Promise<boolean>;
}

const DAY = 24 * 60 * 60_000;
/** A task token outlives any sane trial; it dies with the trial long before (see `authenticate`). */
const TASK_TTL_MS = 365 * DAY;
const BAD_LOGIN = 'Invalid username or password.';

/**
 * Tokens looked up in the last few seconds, so a burst of requests costs one query. This server drops an
 * entry the moment it revokes the token or changes its user; another server on the same database sees such a
 * change within this many ms.
 */
const TOKEN_CACHE_MS = 5_000;
const TOKEN_CACHE_SIZE = 10_000;
/** How long a Basic credential that passed is taken without checking its password again. */
const BASIC_CACHE_MS = 60_000;

export class UserService {
  private readonly sessionTtlMs: number;
  private readonly passwordCost: number;
  private readonly limiter: LoginLimiter;
  private readonly recentTokens = new Map<string, { record: TokenRecord; until: number }>();
  private readonly recentBasic = new Map<string, { username: string; admin: boolean; until: number }>();
  private readonly trialFinished: (trialId: number) => Promise<boolean>;

  constructor(
    private readonly store: UserStore,
    options: UserServiceOptions = {},
  ) {
    this.trialFinished = options.trialFinished ?? (async () => false);
    this.sessionTtlMs = options.sessionTtlMs ?? 30 * DAY;
    this.passwordCost = options.passwordCost ?? DEFAULT_PASSWORD_COST;
    this.limiter = options.limiter ?? new LoginLimiter();
  }

  async create(request: CreateUserRequest): Promise<User> {
    try {
      const record = await this.store.insert({
        username: request.username,
        ...(await this.verifiers(request.password)),
        admin: request.admin ?? false,
        active: true,
        createdAt: Date.now(),
      });
      return present(record);
    } catch (error) {
      if (error instanceof UsernameTakenError) throw new ConflictError(`User "${request.username}" already exists.`);
      throw error;
    }
  }

  async list(): Promise<User[]> {
    return (await this.store.list()).map(present);
  }

  async get(username: string): Promise<User> {
    return present(await this.require(username));
  }

  /** The caller's user; with auth off and no users yet, the first admin as it will be created. */
  async me(principal: Principal): Promise<User> {
    const user = await this.store.byName(principal.username);
    if (user) return present(user);
    return { id: 0, username: principal.username, admin: principal.admin, active: true, createdTime: formatTime(Date.now())! };
  }

  /** Admin changes. Deactivating or changing the password ends the user's sessions; the last admin stays. */
  async update(username: string, changes: UpdateUserRequest): Promise<User> {
    const user = await this.require(username);
    const losesAdmin = user.admin && user.active && (changes.admin === false || changes.active === false);
    if (losesAdmin && (await this.store.activeAdmins()) <= 1) {
      throw new ConflictError(`"${username}" is the last active admin; make another user admin first.`);
    }
    await this.store.update(user.id, {
      ...(changes.password !== undefined && (await this.verifiers(changes.password))),
      ...(changes.admin !== undefined && { admin: changes.admin }),
      ...(changes.active !== undefined && { active: changes.active }),
    });
    // Any change to a user (admin flag included) must be seen by their next request.
    this.forget((r) => r.user.id === user.id);
    this.recentBasic.clear();
    if (changes.active === false || changes.password !== undefined) await this.store.deleteSessions(user.id);
    return this.get(username);
  }

  /**
   * Password login; attempts are counted per (user, address) and per address before the password is checked
   * (login-limiter.ts), and every failure answers the same whatever failed.
   */
  async login(username: string, password: string, address: string, options: { determinedPreHash?: boolean } = {}): Promise<LoginAnswer> {
    return this.loginAnswer(await this.checkPassword(username, password, address, options));
  }

  /** With --auth none: the first admin's session, for the faces' clients, which always log in first. */
  async firstAdminLogin(): Promise<LoginAnswer> {
    return this.loginAnswer(await this.require(FIRST_ADMIN));
  }

  private async loginAnswer(user: UserRecord): Promise<LoginAnswer> {
    const { token, expiresAt } = await this.session(user);
    return { token, expiresTime: formatTime(expiresAt)!, user: present(user) };
  }

  /**
   * HTTP Basic, which netunicorn 0.3 clients send on every call instead of a token. A credential that passed
   * is remembered (by its digest) for a minute, so a client's burst costs one scrypt, not one per call; any
   * change to a user forgets them all.
   */
  async authenticateBasic(authorization: string, address: string): Promise<Principal> {
    const digest = createHash('sha256').update(authorization).digest('hex');
    const now = Date.now();
    let user = this.recentBasic.get(digest);
    if (!user || user.until <= now) {
      this.recentBasic.delete(digest);
      const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization);
      const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon < 1) throw new UnauthorizedError('Malformed Basic credentials: send base64 of username:password.');
      const record = await this.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1), address);
      if (this.recentBasic.size >= TOKEN_CACHE_SIZE) this.recentBasic.delete(this.recentBasic.keys().next().value!);
      user = { username: record.username, admin: record.admin, until: now + BASIC_CACHE_MS };
      this.recentBasic.set(digest, user);
    }
    return { username: user.username, admin: user.admin };
  }

  private async checkPassword(username: string, password: string, address: string, options: { determinedPreHash?: boolean } = {}): Promise<UserRecord> {
    const attempt = this.limiter.begin(username, address);
    if (attempt.delayMs > 0) await delay(attempt.delayMs);
    const user = await this.store.byName(username);
    // The Determined SDK sends determinedPreHash(password), checked against its own verifier. A missing user
    // (or verifier) still costs one scrypt, so timing does not tell which usernames exist.
    const verifier = options.determinedPreHash ? user?.determinedHash : user?.passwordHash;
    const good = await verifyPassword(password, verifier ?? DUMMY_HASH);
    if (!user || !verifier || !good || !user.active) throw new UnauthorizedError(BAD_LOGIN);
    attempt.succeeded();
    // A password set before the Determined face existed gets its second verifier at its first plain login.
    if (!options.determinedPreHash && user.determinedHash === null) {
      await this.store.update(user.id, { determinedHash: await hashPassword(determinedPreHash(password), this.passwordCost) });
    }
    return user;
  }

  /** The password's scrypt verifier and that of the Determined SDK's pre-hash of it (see determinedPreHash). */
  private async verifiers(password: string): Promise<{ passwordHash: string; determinedHash: string }> {
    const [passwordHash, determinedHash] = await Promise.all([hashPassword(password, this.passwordCost), hashPassword(determinedPreHash(password), this.passwordCost)]);
    return { passwordHash, determinedHash };
  }

  /** A fresh session token for `username` without a password (the server's own bootstrap and tests). */
  async issueToken(username: string): Promise<{ token: string; expiresTime: string }> {
    const { token, expiresAt } = await this.session(await this.require(username));
    return { token, expiresTime: formatTime(expiresAt)! };
  }

  /** An executor's token: acts as the experiment's owner, only on its own trial. */
  async issueTaskToken(owner: string, trialId: number, experimentId: string): Promise<string> {
    return (await this.mint(await this.require(owner), TASK_TTL_MS, { trialId, experimentId })).token;
  }

  async revokeTrialTokens(trialId: number): Promise<void> {
    this.forget((r) => r.trialId === trialId);
    await this.store.deleteTrialTokens(trialId);
  }

  /** The caller behind a bearer token; UNAUTHORIZED for a missing, malformed, unknown, expired or dead one. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new UnauthorizedError('Authentication required: send Authorization: Bearer <token> (get one with periscope user login).');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const parsed = match ? parseToken(match[1]!) : undefined;
    const record = parsed && (await this.token(parsed.selector));
    if (!parsed || !record || !verifiersMatch(record.verifier, parsed.verifier)) throw new UnauthorizedError('Invalid token.');
    if (record.expiresAt <= Date.now()) throw new UnauthorizedError('Token expired: log in again.');
    if (!record.user.active) throw new UnauthorizedError('User is deactivated.');
    if (record.kind === 'task') {
      if (record.trialId === null || record.experimentId === null || (await this.trialFinished(record.trialId))) throw new UnauthorizedError('Task token of a finished trial.');
      return { username: record.user.username, admin: false, task: { trialId: record.trialId, experimentId: record.experimentId }, selector: record.selector };
    }
    return { username: record.user.username, admin: record.user.admin, selector: record.selector };
  }

  async logout(principal: Principal): Promise<void> {
    if (principal.selector === undefined) return;
    this.recentTokens.delete(principal.selector);
    await this.store.deleteToken(principal.selector);
  }

  private async token(selector: string): Promise<TokenRecord | undefined> {
    const now = Date.now();
    const recent = this.recentTokens.get(selector);
    if (recent && recent.until > now) return recent.record;
    const record = await this.store.token(selector);
    this.recentTokens.delete(selector);
    if (record) {
      if (this.recentTokens.size >= TOKEN_CACHE_SIZE) this.recentTokens.delete(this.recentTokens.keys().next().value!);
      this.recentTokens.set(selector, { record, until: now + TOKEN_CACHE_MS });
    }
    return record;
  }

  private forget(match: (record: TokenRecord) => boolean): void {
    for (const [selector, { record }] of this.recentTokens) if (match(record)) this.recentTokens.delete(selector);
  }

  /**
   * Creates the first admin when there are no users yet, with a random password that is returned (to be shown
   * once) and never stored in clear; undefined when users already exist.
   */
  async ensureFirstAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.store.count()) > 0) return undefined;
    const password = randomPassword();
    try {
      await this.create({ username: FIRST_ADMIN, password, admin: true });
    } catch (error) {
      if (error instanceof ConflictError) return undefined; // another server on the same database won the race
      throw error;
    }
    return { username: FIRST_ADMIN, password };
  }

  /**
   * Makes sure the user every request acts as under `--auth none` exists (it owns what is created then, and
   * its executors' task tokens act as it), even where other users exist already; its random password is
   * returned when it had to be created.
   */
  async ensureNoAuthAdmin(): Promise<{ username: string; password: string } | undefined> {
    const existing = await this.store.byName(FIRST_ADMIN);
    if (existing) {
      if (!existing.admin || !existing.active) await this.update(FIRST_ADMIN, { admin: true, active: true });
      return undefined;
    }
    const password = randomPassword();
    try {
      await this.create({ username: FIRST_ADMIN, password, admin: true });
    } catch (error) {
      if (error instanceof ConflictError) return undefined;
      throw error;
    }
    return { username: FIRST_ADMIN, password };
  }

  /**
   * For whoever runs the server and lost the first admin's password: a new random password (returned, to be
   * shown once), the account active and admin again, its old sessions ended. Creates it if it is missing.
   */
  async resetFirstAdmin(): Promise<{ username: string; password: string }> {
    const password = randomPassword();
    if (await this.store.byName(FIRST_ADMIN)) await this.update(FIRST_ADMIN, { password, admin: true, active: true });
    else await this.create({ username: FIRST_ADMIN, password, admin: true });
    return { username: FIRST_ADMIN, password };
  }

  private async session(user: UserRecord): Promise<{ token: string; expiresAt: number }> {
    // Each new session clears the expired ones, so the table holds no more than the live tokens and a few.
    await this.store.deleteExpired(Date.now());
    return this.mint(user, this.sessionTtlMs);
  }

  /** A session token, or with `task` an executor's, stored as its selector and the digest of its secret. */
  private async mint(user: UserRecord, ttlMs: number, task?: { trialId: number; experimentId: string }): Promise<{ token: string; expiresAt: number }> {
    const minted = mintToken();
    const now = Date.now();
    const expiresAt = now + ttlMs;
    await this.store.insertToken({ selector: minted.selector, verifier: minted.verifier, userId: user.id, kind: task ? 'task' : 'session', ...task, expiresAt, createdAt: now });
    return { token: minted.token, expiresAt };
  }

  private async require(username: string): Promise<UserRecord> {
    const user = await this.store.byName(username);
    if (!user) throw new NotFoundError(`Not found user "${username}".`);
    return user;
  }
}

/** A well-formed hash of no password anyone knows, checked against when the user does not exist. */
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function present(user: UserRecord): User {
  return { id: user.id, username: user.username, admin: user.admin, active: user.active, createdTime: formatTime(user.createdAt)! };
}
