import type { App } from '../app.js';
import { FIRST_ADMIN } from '../users/service.js';

/** A fresh token of the first admin, created (with a random password) if there are no users yet. For tests. */
export async function adminToken(app: App): Promise<string> {
  await app.users.ensureFirstAdmin();
  return (await app.users.issueToken(FIRST_ADMIN)).token;
}
