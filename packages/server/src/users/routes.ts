import { BrowserSession, CreateUserRequest, Envelope, ErrorEnvelope, LoginAnswer, LoginRequest, UpdateUserRequest, User, USERNAME_PATTERN } from '@periscope/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { clearSessionCookies, setSessionCookies } from '../http/browser-session.js';
import { ok } from '../http/envelope.js';
import type { UserService } from './service.js';

const tags = ['users'];
const UserParams = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });
const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope };

/** Login, logout, the caller's own user, and admin-only user management. */
export function userRoutes(users: UserService, { secureCookies }: { secureCookies: boolean }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/v1/auth/login',
      {
        schema: {
          tags,
          summary: 'Log in with a password; answers a bearer token (failures are rate-limited per user and address: 429)',
          body: LoginRequest,
          response: { 200: Envelope(LoginAnswer), 429: ErrorEnvelope, ...errors },
        },
      },
      async (request) => ok(await users.login(request.body.username, request.body.password, request.ip)),
    );
    app.post('/api/v1/auth/logout', { schema: { tags, summary: 'Revoke the token this request carries', response: { 200: Envelope(Type.Null()), ...errors } } }, async (request) => {
      await users.logout(request.principal!);
      return ok(null);
    });
    app.post(
      '/api/v1/auth/session',
      {
        schema: {
          tags,
          summary: "Log in from a browser: the token goes into an HttpOnly cookie (SameSite=Strict, Secure under TLS); send the answer's csrfToken as x-csrf-token on every request that changes something",
          body: LoginRequest,
          response: { 200: Envelope(BrowserSession), 429: ErrorEnvelope, ...errors },
        },
      },
      async (request, reply) => {
        const answer = await users.login(request.body.username, request.body.password, request.ip);
        const csrfToken = setSessionCookies(reply, answer.token, new Date(answer.expiresTime), secureCookies);
        return ok({ user: answer.user, csrfToken, expiresTime: answer.expiresTime });
      },
    );
    app.delete('/api/v1/auth/session', { schema: { tags, summary: "End the browser's session: its token is revoked and its cookies cleared", response: { 200: Envelope(Type.Null()), ...errors } } }, async (request, reply) => {
      await users.logout(request.principal!);
      clearSessionCookies(reply, secureCookies);
      return ok(null);
    });
    app.get('/api/v1/me', { schema: { tags, summary: 'The user this request acts as', response: { 200: Envelope(User), ...errors } } }, async (request) =>
      ok(await users.me(request.principal!)),
    );
    app.get('/api/v1/users', { schema: { tags, summary: 'Every user (admin)', response: { 200: Envelope(Type.Array(User)), ...errors } } }, async () => ok(await users.list()));
    app.post(
      '/api/v1/users',
      { schema: { tags, summary: 'Create a user (admin; 409 on a taken name)', body: CreateUserRequest, response: { 200: Envelope(User), 409: ErrorEnvelope, ...errors } } },
      async (request) => ok(await users.create(request.body)),
    );
    app.get('/api/v1/users/:username', { schema: { tags, summary: 'One user (admin)', params: UserParams, response: { 200: Envelope(User), ...errors } } }, async (request) =>
      ok(await users.get(request.params.username)),
    );
    app.patch(
      '/api/v1/users/:username',
      {
        schema: {
          tags,
          summary: 'Set a password, grant or take admin, deactivate or reactivate (admin); ends the sessions of a deactivated user or a changed password',
          params: UserParams,
          body: UpdateUserRequest,
          response: { 200: Envelope(User), 409: ErrorEnvelope, ...errors },
        },
      },
      async (request) => ok(await users.update(request.params.username, request.body)),
    );
  };
}
