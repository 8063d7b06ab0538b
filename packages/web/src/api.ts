/** The one API client of the dashboard, and how its failures reach the page. */
import { Periscope, PeriscopeApiError, isPeriscopeError, type DashboardClient, type ExperimentSummary } from '@periscope/sdk';

export const SUBMARINE_STATUSES = ['Accepted', 'Created', 'Running', 'Succeeded', 'Failed', 'Deleted'] as const;
export type SubmarineStatus = ExperimentSummary['status'];
export const FINISHED_STATUSES: readonly SubmarineStatus[] = ['Succeeded', 'Failed', 'Deleted'];

const CSRF_COOKIE = 'periscope_csrf';

/** The CSRF token the server set beside the (HttpOnly) session cookie; absent when not logged in by cookie. */
export function csrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

let client: Periscope | undefined;

export function periscope(): Periscope {
  client ??= createClient();
  return client;
}

/** After login or logout: the CSRF header changes with the session. */
export function resetClient(): void {
  client = createClient();
}

function createClient(): Periscope {
  const csrf = csrfToken();
  return new Periscope({ master: location.origin, headers: csrf ? { 'x-csrf-token': csrf } : {} });
}

export function dashboard(): DashboardClient {
  return periscope().dashboard;
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof PeriscopeApiError && error.code === 'UNAUTHORIZED';
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** An error in words for the page: the server's own message for API errors, never a stack. */
export function errorMessage(error: unknown): string {
  if (isPeriscopeError(error)) return error.message;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

let unauthorizedHandler: (() => void) | undefined;

/** The session registers what a 401 does (send the user to the login page). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

/** Routes a failed call: a 401 goes to the login page (answers true); the caller shows anything else. */
export function handledUnauthorized(error: unknown): boolean {
  if (!isUnauthorized(error)) return false;
  unauthorizedHandler?.();
  return true;
}
