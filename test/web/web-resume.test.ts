/**
 * A cut-off upload from the page resumes: after a reload the page names what the server kept, and the
 * same file chosen again continues after the last whole block, as the CLI's does. The cut is made by a
 * proxy that stops passing the page's bytes at a chosen point (no timing), then drops that connection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newContext, screenshot, signIn, skipWithoutChromium, startWebServer, type WebServer } from '../helpers/browser.js';
import { startHoldingProxy } from '../helpers/holding-proxy.js';
import { tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipWithoutChromium();
const MiB = 1024 * 1024;

describe('web client resume', { skip }, () => {
  let web: WebServer;
  let browser: Browser;
  let folder: { path: string; cleanup(): Promise<void> };

  before(async () => {
    [web, browser, folder] = await Promise.all([startWebServer(), launchBrowser(), tempDir('lpf-web-resume-')]);
  });
  after(async () => {
    await browser?.close();
    await web?.server.stop();
    await folder?.cleanup();
  });

  async function chooseFile(page: Page, path: string): Promise<void> {
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload files' }).click();
    await (await chooser).setFiles(path);
  }

  test('reloaded mid-upload, the page names the unfinished upload, and the same file chosen again continues it', async () => {
    const content = randomBytes(50 * MiB);
    const local = join(folder.path, 'movie.bin');
    await writeFile(local, content);
    const proxy = await startHoldingProxy(Number(new URL(web.url).port));
    try {
      const context = await newContext(browser);
      const page = await context.newPage();
      await signIn(page, `https://${proxy.address}`, 'alice', 'alice-pass', true);
      const held = proxy.holdAfter(13 * MiB); // only the WebSocket carries that much
      await chooseFile(page, local);
      await held;
      const starts = () =>
        web.server.logs.filter((l) => (l.msg === 'upload started' || l.msg === 'upload resumed') && l.name === 'movie.bin');
      await waitFor(() => starts().length === 1, { what: 'the first upload started' });
      proxy.cut(); // the connection drops mid-upload; the page and the proxy stay
      await waitFor(() => web.server.logs.some((l) => l.msg === 'upload interrupted; partial data kept for a resume'), {
        what: 'the server kept the cut-off upload',
      });

      await page.reload();
      const unfinished = page.getByRole('list', { name: 'Unfinished uploads' });
      const notice = unfinished.getByText(/^movie\.bin: .* of 50\.0 MiB received — choose the same file to continue\.$/);
      await notice.waitFor();
      const said = await notice.innerText();
      await screenshot(page, 'desktop-unfinished-upload');

      await chooseFile(page, local);
      await page.getByRole('status').filter({ hasText: 'Uploaded 1 file.' }).waitFor({ timeout: 300_000 }); // 50 MiB on a busy machine
      const resumed = starts()[1];
      assert.equal(resumed?.msg, 'upload resumed');
      const offset = Number(resumed.offset);
      assert.ok(offset >= 4 * MiB && offset % (4 * MiB) === 0, `resumed at ${offset}`);
      assert.equal(said, `movie.bin: ${(offset / MiB).toFixed(1)} MiB of 50.0 MiB received — choose the same file to continue.`);
      const bar = page.getByRole('progressbar', { name: 'Uploading movie.bin' });
      assert.deepEqual(
        [await bar.getAttribute('value'), await bar.getAttribute('max')],
        Array(2).fill(String(50 * MiB)),
        'progress reached 100 %',
      );
      assert.equal(await unfinished.count(), 0, 'nothing is left unfinished');

      const started = page.waitForEvent('download');
      await page.getByRole('link', { name: 'movie.bin', exact: true }).click();
      assert.deepEqual(await readFile(await (await started).path()), content);
      await context.close();
    } finally {
      await proxy.close();
    }
  });
});

describe('web client cancel', { skip }, () => {
  test('cancelling an upload part-way drops what the server had received', async () => {
    const [web, browser, folder] = await Promise.all([startWebServer(), launchBrowser(), tempDir('lpf-web-cancel-')]);
    const proxy = await startHoldingProxy(Number(new URL(web.url).port));
    try {
      const local = join(folder.path, 'huge.bin');
      // Larger than all the buffers between the page and the held proxy (the page's 8 MiB, Chromium's
      // and both sockets'), so the upload cannot have been handed over whole when Cancel is clicked.
      await writeFile(local, randomBytes(96 * 1024 * 1024));
      const context = await newContext(browser);
      const page = await context.newPage();
      await signIn(page, `https://${proxy.address}`, 'judy', 'judy-pass', true);
      const held = proxy.holdAfter(9 * 1024 * 1024);
      const chooser = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: 'Upload files' }).click();
      await (await chooser).setFiles(local);
      await held; // the upload is stuck part-way
      await page.getByRole('button', { name: 'Cancel upload of huge.bin' }).click();
      proxy.release();
      await page.getByRole('status').filter({ hasText: 'Uploaded 0 of 1 file; 1 cancelled.' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'huge.bin' }).count(), 0);
      const partials = join(web.server.root, 'partial', 'judy');
      await waitFor(async () => (await readdir(partials).catch(() => [])).length === 0, { what: 'the partial upload is removed' });
      await context.close();
    } finally {
      await proxy.close();
      await browser.close();
      await web.server.stop();
      await folder.cleanup();
    }
  });
});

describe('web client after its connection dropped', { skip }, () => {
  test('the next action opens a new connection with the same session (here: the server restarted)', async () => {
    const root = await tempDir('lpf-web-restart-');
    const [first, browser] = await Promise.all([startWebServer({ root: root.path }), launchBrowser()]);
    let web = first;
    try {
      const context = await newContext(browser);
      const page = await context.newPage();
      await signIn(page, web.url, 'ivan', 'ivan-pass', true);
      await page.getByText('This folder is empty').waitFor();
      const webPort = new URL(web.url).port;
      await web.server.stop();
      web = await startWebServer({ root: root.path, port: web.server.port, args: ['--web-port', webPort] });
      await page.getByRole('button', { name: 'New folder' }).click();
      await page.getByLabel('Folder name').fill('after-restart');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('button', { name: 'after-restart', exact: true }).waitFor();
      await context.close();
    } finally {
      await browser.close();
      await web.server.stop();
      await root.cleanup();
    }
  });
});
