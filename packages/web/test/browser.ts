/**
 * Debian's Chromium driven by playwright-core (which gives each launch a fresh profile), for the dashboard's tests. Without a Chromium the tests skip,
 * unless PERISCOPE_TEST_BROWSER_REQUIRED is set (CI installs it and sets it), when they fail instead.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = process.env.PERISCOPE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.PERISCOPE_TEST_BROWSER_REQUIRED === '1';

/** Where each page's screenshot goes (gitignored): look at them before calling the dashboard done. */
export const SCREENSHOTS = fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url));

/** A reason to skip, or false when a browser is here (or required, and then its absence fails the test). */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM) || REQUIRED) return false;
  return `no Chromium at ${CHROMIUM} (apt-get install chromium; PERISCOPE_TEST_BROWSER_REQUIRED=1 makes this a failure)`;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`PERISCOPE_TEST_BROWSER_REQUIRED is set but there is no Chromium at ${CHROMIUM}`);
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh context (no cookies) whose pages fail the test on any uncaught page error or console error. */
export async function freshPage(browser: Browser, errors: string[]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A refused request (the 401 that sends the page to login) is the browser's own console line, not the app's.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
