/**
 * `periscope user …`: log in and out (the token is kept in the credentials file, never printed), who am I, and
 * the admin's user management: create, list, deactivate, activate, set-password.
 */
import { PeriscopeApiError, type User } from '@periscope/sdk';
import type { Command } from 'commander';
import { Context } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { renderTable } from '../output/table.js';
import { relativeTime } from '../output/time.js';
import { askLine, askPassword, passwordFromStdin } from '../prompt.js';

const USER_HELP = `
Logging in saves a token for that server in ~/.periscope/credentials (mode 0600; PERISCOPE_CREDENTIALS names
another file); every periscope command, and the SDK, then acts as the user last logged in there, or as
--user NAME (PERISCOPE_USER). A server that never saw a login writes its admin's token there on first start.
A command refused for want of a login, or of admin rights, exits 1 saying so.

Examples:
  periscope user login alice                      # asks for the password (not echoed)
  echo "$PASSWORD" | periscope user login ci --password-stdin
  periscope user whoami
  periscope user create bob --admin               # admins only
  periscope --master https://gpu-box:32080 --cert-path ca.pem user login alice`;

/** The credentials-file helpers, loaded only when a command needs them (see credentials.ts). */
const credentials = () => import('../credentials.js');

export function userCommand(parent: Command): Command {
  const user = parent
    .command('user')
    .description('Log in and out, show who you are, and (admins) manage users.')
    .addHelpText('after', USER_HELP);

  user
    .command('login')
    .description('Log in to the server and save the token for later commands (the password is asked, not echoed).')
    .argument('[username]', 'who to log in as (default: --user, PERISCOPE_USER, else asked)')
    .option('--password-stdin', 'read the password from the first line of stdin (for scripts)')
    .action(async (name: string | undefined, flags: { passwordStdin?: boolean }, command: Command) => {
      const ctx = Context.of(command);
      const username = name ?? ctx.user ?? (await askUsername());
      const password = flags.passwordStdin ? await passwordFromStdin() : await askPassword(`Password for ${username}: `);
      const answer = await ctx.connect({ user: username, password }).login();
      const master = ctx.master();
      await (await credentials()).saveLogin(master, answer.user.username, answer.token);
      // Never the token, not even in JSON: it is in the credentials file for whoever needs it.
      if (ctx.json) return ctx.printJson({ master, user: answer.user, expiresTime: answer.expiresTime });
      ctx.print(`Logged in as ${answer.user.username} at ${master}.`);
    });

  user
    .command('logout')
    .description('Revoke the saved token on the server and remove it from the credentials file.')
    .action(async (_flags: object, command: Command) => {
      const ctx = Context.of(command);
      const master = ctx.master();
      const file = await credentials();
      const saved = await file.savedLogin(master, ctx.user);
      if (!saved) {
        ctx.note(`Not logged in${ctx.user ? ` as ${ctx.user}` : ''} at ${master}: nothing to do.`);
        return;
      }
      try {
        await ctx.connect({ token: saved.token }).logout();
      } catch (error) {
        // Expired or revoked already: the server holds nothing to revoke; the file still forgets it.
        if (!(error instanceof PeriscopeApiError && error.code === 'UNAUTHORIZED')) throw error;
      }
      await file.forgetLogin(master, saved.user);
      if (ctx.json) return ctx.printJson({ master, user: saved.user, loggedOut: true });
      ctx.print(`Logged out ${saved.user} at ${master}.`);
    });

  user
    .command('whoami')
    .description('Show the user commands act as at this server.')
    .action(async (_flags: object, command: Command) => {
      const ctx = Context.of(command);
      const me = await ctx.periscope.whoami();
      if (ctx.json) return ctx.printJson(me);
      ctx.print(`${me.username} at ${ctx.master()}${me.admin ? ' (admin)' : ''}`);
    });

  user
    .command('create')
    .description('Create a user (admins only); the password is asked twice, not echoed.')
    .argument('<username>', 'letters, digits, dot, dash, underscore; up to 64')
    .option('--admin', 'make the user an admin')
    .option('--password-stdin', 'read the password from the first line of stdin (for scripts)')
    .action(async (username: string, flags: { admin?: boolean; passwordStdin?: boolean }, command: Command) => {
      const ctx = Context.of(command);
      const password = flags.passwordStdin ? await passwordFromStdin() : await askPassword(`Password for ${username}: `, true);
      const created = await ctx.periscope.users.create({ username, password, ...(flags.admin && { admin: true }) });
      if (ctx.json) return ctx.printJson(created);
      ctx.print(`Created ${created.admin ? 'admin' : 'user'} ${created.username}.`);
    });

  user
    .command('list')
    .alias('ls')
    .description('List the users (admins only).')
    .action(async (_flags: object, command: Command) => {
      const ctx = Context.of(command);
      const users = await ctx.periscope.users.list();
      if (ctx.json) return ctx.printJson(users);
      ctx.print(userTable(users));
    });

  user
    .command('deactivate')
    .description('Stop a user from logging in, and revoke their tokens at once (admins only).')
    .argument('<username>', 'the user')
    .action(async (username: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const changed = await ctx.periscope.users.deactivate(username);
      if (ctx.json) return ctx.printJson(changed);
      ctx.print(`Deactivated ${changed.username}: they can no longer log in, and their tokens are revoked.`);
    });

  user
    .command('activate')
    .description('Let a deactivated user log in again (admins only).')
    .argument('<username>', 'the user')
    .action(async (username: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const changed = await ctx.periscope.users.activate(username);
      if (ctx.json) return ctx.printJson(changed);
      ctx.print(`Activated ${changed.username}.`);
    });

  user
    .command('set-password')
    .description("Set a user's password (admins only); their sessions end, so they log in again with it.")
    .argument('<username>', 'the user')
    .option('--password-stdin', 'read the password from the first line of stdin (for scripts)')
    .action(async (username: string, flags: { passwordStdin?: boolean }, command: Command) => {
      const ctx = Context.of(command);
      const password = flags.passwordStdin ? await passwordFromStdin() : await askPassword(`New password for ${username}: `, true);
      const changed = await ctx.periscope.users.setPassword(username, password);
      if (ctx.json) return ctx.printJson(changed);
      ctx.print(`Set the password of ${changed.username}; their sessions have ended.`);
      const saved = await (await credentials()).savedLogin(ctx.master(), ctx.user);
      if (saved?.user === changed.username) ctx.note(`Your own saved login ended with it: run \`periscope user login ${changed.username}\` again.`);
    });

  return user;
}

async function askUsername(): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError('user login: name the user (periscope user login USERNAME, or --user / PERISCOPE_USER)');
  const name = await askLine('Username: ');
  if (!name) throw new UsageError('user login: no username given');
  return name;
}

function userTable(users: User[]): string {
  return renderTable(
    ['USERNAME', 'ADMIN', 'ACTIVE', 'CREATED'],
    users.map((u) => [u.username, u.admin ? 'yes' : 'no', u.active ? 'yes' : 'no', relativeTime(u.createdTime)]),
  );
}
