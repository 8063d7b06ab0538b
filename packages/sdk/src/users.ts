import type { CreateUserRequest, UpdateUserRequest, User } from '@periscope/core';
import { path, type ApiRequest, type CallOptions, type Transport } from './transport.js';

/**
 * The server's users (`periscope.users`). Admin only: anyone else gets a FORBIDDEN `PeriscopeApiError`
 * (HTTP 403). A server started with `--auth none` treats every caller as an admin.
 */
export class UsersClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Every user, active or not. */
  list(options: CallOptions = {}): Promise<User[]> {
    return this.result({ method: 'GET', path: '/users', ...options });
  }

  /** Rejects with CONFLICT when the username is taken. Not an admin unless `admin: true`. */
  create(user: CreateUserRequest, options: CallOptions = {}): Promise<User> {
    return this.result({ method: 'POST', path: '/users', body: user, ...options });
  }

  /**
   * Changes a user's password, admin flag or activity. A new password or a deactivation ends the user's
   * sessions on the server (their saved tokens stop working); the last active admin cannot lose admin.
   */
  update(username: string, changes: UpdateUserRequest, options: CallOptions = {}): Promise<User> {
    return this.result({ method: 'PATCH', path: path`/users/${username}`, body: changes, ...options });
  }

  /** The user can no longer log in, and their tokens are revoked at once. */
  deactivate(username: string, options: CallOptions = {}): Promise<User> {
    return this.update(username, { active: false }, options);
  }

  /** The user can log in again (tokens revoked by the deactivation stay revoked). */
  activate(username: string, options: CallOptions = {}): Promise<User> {
    return this.update(username, { active: true }, options);
  }

  /** A new password for `username`; their current sessions end. */
  setPassword(username: string, password: string, options: CallOptions = {}): Promise<User> {
    return this.update(username, { password }, options);
  }

  private async result<T>(request: ApiRequest): Promise<T> {
    return (await this.#transport.call<T>(request)).result;
  }
}
