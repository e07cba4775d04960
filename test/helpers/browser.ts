/**
 * A real browser for the web client's tests: Debian's chromium, driven by playwright-core (which
 * never downloads a browser of its own here), and lpf-server with its web client on a free port.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO, startServer, type RunningServer, type ServerOptions } from './processes.js';
import { waitFor } from './wait-for.js';
import { skipUnlessInstalled } from './engines.js';

export const CHROMIUM = process.env.LPF_CHROMIUM ?? '/usr/bin/chromium';

/** Where the tests leave screenshots for a person to look at (git-ignored). */
export const SCREENSHOTS = join(REPO, 'test-output', 'screenshots');

/** Why browser tests cannot run here (chromium missing), or false. Under CI=true they never skip: they fail. */
export function skipWithoutChromium(): string | false {
  return skipUnlessInstalled(
    existsSync(CHROMIUM),
    `${CHROMIUM} is not installed (apt-get install --no-install-recommends chromium): web client tests`,
  );
}

/**
 * The browser, with a fresh profile (playwright gives every launch its own temporary user-data-dir, removed at
 * close). It accepts the test server's self-signed certificate itself (--ignore-certificate-errors): the
 * context's ignoreHTTPSErrors alone does not cover a download that opens a new connection, which Chromium
 * then cancels.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--ignore-certificate-errors',
    ],
  });
}

/** A new browser context (its own cookies) at desktop or phone size, trusting the test server's self-signed certificate. */
export function newContext(browser: Browser, phone = false): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: phone ? { width: 390, height: 844 } : { width: 1280, height: 800 } });
}

export interface WebServer {
  server: RunningServer;
  /** The web client's address, https://127.0.0.1:PORT */
  url: string;
}

/** lpf-server with its web client on a free port. */
export async function startWebServer(options: ServerOptions = {}): Promise<WebServer> {
  const server = await startServer(options);
  const entry = await waitFor(() => server.logs.find((l) => l.msg === 'web client listening'), { what: 'the web client listens' });
  return { server, url: String(entry.url).replace(/\/$/, '') };
}

/** Signs up (or in) through the page as a person would. */
export async function signIn(page: Page, url: string, user: string, password: string, register = false): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: register ? 'Create account' : 'Sign in' }).click();
  await page.getByText(`Signed in as ${user}`).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
