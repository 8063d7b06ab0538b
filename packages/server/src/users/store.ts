/** Users and their tokens (rows only; hashing and checks live in the service). */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface UserRecord {
  id: number;
  username: string;
  passwordHash: string;
  /** The verifier of the Determined SDK's pre-hash of the password; null until the password is next set or used. */
  determinedHash: string | null;
  admin: boolean;
  active: boolean;
  createdAt: number;
}

export interface TokenRecord {
  selector: string;
  verifier: string;
  kind: 'session' | 'task';
  trialId: number | null;
  experimentId: string | null;
  expiresAt: number;
  user: UserRecord;
}

export class UsernameTakenError extends Error {}

export class UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(user: Omit<UserRecord, 'id'>): Promise<UserRecord> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({ username: user.username, password_hash: user.passwordHash, determined_hash: user.determinedHash, admin: user.admin ? 1 : 0, active: user.active ? 1 : 0, created_at: user.createdAt })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { ...user, id: Number(row.id) };
    } catch (error) {
      if (/unique|duplicate/i.test(String((error as Error).message))) throw new UsernameTakenError(user.username);
      throw error;
    }
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async byName(username: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row && toUser(row);
  }

  async list(): Promise<UserRecord[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('id').execute()).map(toUser);
  }

  async activeAdmins(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('admin', '=', 1).where('active', '=', 1).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(id: number, changes: { passwordHash?: string; determinedHash?: string; admin?: boolean; active?: boolean }): Promise<void> {
    await this.db
      .updateTable('users')
      .set({
        ...(changes.passwordHash !== undefined && { password_hash: changes.passwordHash }),
        ...(changes.determinedHash !== undefined && { determined_hash: changes.determinedHash }),
        ...(changes.admin !== undefined && { admin: changes.admin ? 1 : 0 }),
        ...(changes.active !== undefined && { active: changes.active ? 1 : 0 }),
      })
      .where('id', '=', id)
      .execute();
  }

  async insertToken(token: { selector: string; verifier: string; userId: number; kind: 'session' | 'task'; trialId?: number; experimentId?: string; expiresAt: number; createdAt: number }): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        selector: token.selector,
        verifier: token.verifier,
        user_id: token.userId,
        kind: token.kind,
        trial_id: token.trialId ?? null,
        experiment_id: token.experimentId ?? null,
        expires_at: token.expiresAt,
        created_at: token.createdAt,
      })
      .execute();
  }

  async token(selector: string): Promise<TokenRecord | undefined> {
    const row = await this.db
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .select(['tokens.selector', 'tokens.verifier', 'tokens.kind', 'tokens.trial_id', 'tokens.experiment_id', 'tokens.expires_at'])
      .select(['users.id', 'users.username', 'users.password_hash', 'users.determined_hash', 'users.admin', 'users.active', 'users.created_at'])
      .where('tokens.selector', '=', selector)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      selector: row.selector,
      verifier: row.verifier,
      kind: row.kind as TokenRecord['kind'],
      trialId: row.trial_id === null ? null : Number(row.trial_id),
      experimentId: row.experiment_id,
      expiresAt: Number(row.expires_at),
      user: toUser(row),
    };
  }

  async deleteToken(selector: string): Promise<void> {
    await this.db.deleteFrom('tokens').where('selector', '=', selector).execute();
  }

  /** Revokes a user's login sessions (task tokens die with their trials instead). */
  async deleteSessions(userId: number): Promise<void> {
    await this.db.deleteFrom('tokens').where('user_id', '=', userId).where('kind', '=', 'session').execute();
  }

  async deleteTrialTokens(trialId: number): Promise<void> {
    await this.db.deleteFrom('tokens').where('trial_id', '=', trialId).execute();
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db.deleteFrom('tokens').where('expires_at', '<=', now).execute();
  }
}

function toUser(row: { id: number | string; username: string; password_hash: string; determined_hash: string | null; admin: number; active: number; created_at: number | string }): UserRecord {
  return {
    id: Number(row.id),
    username: row.username,
    passwordHash: row.password_hash,
    determinedHash: row.determined_hash,
    admin: Number(row.admin) === 1,
    active: Number(row.active) === 1,
    createdAt: Number(row.created_at),
  };
}
