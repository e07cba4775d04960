/**
 * An accessibility audit of the web client's screens with axe-core, loaded from node_modules into the
 * page by the test (through the browser's debugging channel, which the page's strict CSP does not
 * govern; nothing comes from the network). No serious or critical violation may remain.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newContext, signIn, skipWithoutChromium, startWebServer, type WebServer } from '../helpers/browser.js';

const skip = skipWithoutChromium();
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** The serious and critical violations axe finds on the page as it is now. */
async function audit(page: Page): Promise<Violation[]> {
  await page.evaluate(await readFile(AXE, 'utf8'));
  const found = await page.evaluate<Violation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')),
  })))`);
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describe('web client accessibility', { skip }, () => {
  let web: WebServer;
  let browser: Browser;

  before(async () => {
    [web, browser] = await Promise.all([startWebServer(), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await web?.server.stop();
  });

  for (const phone of [false, true]) {
    test(`the sign-in and files screens have no serious or critical axe violations (${phone ? 'phone' : 'desktop'})`, async () => {
      const context = await newContext(browser, phone);
      const page = await context.newPage();
      await page.goto(web.url);
      await page.getByRole('heading', { name: 'Sign in to lpf' }).waitFor();
      assert.deepEqual(await audit(page), [], 'sign-in screen');

      await signIn(page, web.url, phone ? 'pia' : 'pat', 'pat-pass', true);
      await page.getByRole('button', { name: 'New folder' }).click();
      await page.getByLabel('Folder name').fill('Photos');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('button', { name: 'Photos', exact: true }).waitFor();
      const chooser = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: 'Upload files' }).click();
      await (await chooser).setFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('a') });
      await page.getByRole('status').filter({ hasText: 'Uploaded 1 file.' }).waitFor();
      assert.deepEqual(await audit(page), [], 'files screen');

      await page.getByRole('button', { name: 'Move a.txt' }).click();
      await page.getByLabel('Destination folder').waitFor();
      assert.deepEqual(await audit(page), [], 'move dialog');
      await context.close();
    });
  }
});
