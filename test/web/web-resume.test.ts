/**
 * A cut-off upload from the page resumes: the same file chosen again continues after the last whole
 * block the server kept, as the CLI's does. The cut is made by a proxy that stops passing the page's
 * bytes at a chosen point (no timing), then drops the connection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newContext, signIn, skipWithoutChromium, startWebServer, type WebServer } from '../helpers/browser.js';
import { startHoldingProxy } from '../helpers/holding-proxy.js';
import { tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipWithoutChromium();

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

  test('the same file chosen again after a cut-off upload continues where the server is', async () => {
    const content = randomBytes(24 * 1024 * 1024);
    const local = join(folder.path, 'movie.bin');
    await writeFile(local, content);
    const webPort = Number(new URL(web.url).port);
    const proxy = await startHoldingProxy(webPort);
    const viaProxy = `https://${proxy.address}`;

    const first = await newContext(browser);
    const cut = await first.newPage();
    await signIn(cut, viaProxy, 'alice', 'alice-pass', true);
    const held = proxy.holdAfter(13 * 1024 * 1024); // only the WebSocket carries that much
    await chooseFile(cut, local);
    await held;
    const starts = () =>
      web.server.logs.filter((l) => (l.msg === 'upload started' || l.msg === 'upload resumed') && l.name === 'movie.bin');
    await waitFor(() => starts().length === 1, { what: 'the first upload started' });
    await proxy.close(); // the connection drops mid-upload
    await waitFor(() => web.server.logs.some((l) => l.msg === 'disconnected' && l.conn === starts()[0]?.conn), {
      what: 'the server saw the upload cut off',
    });
    await first.close();

    const second = await newContext(browser);
    const page = await second.newPage();
    await signIn(page, web.url, 'alice', 'alice-pass');
    await chooseFile(page, local);
    await page.getByRole('status').filter({ hasText: 'Uploaded 1 file.' }).waitFor();
    const resumed = starts()[1];
    assert.equal(resumed?.msg, 'upload resumed');
    assert.ok(Number(resumed.offset) >= 4 * 1024 * 1024, `resumed at ${String(resumed.offset)}`);
    assert.equal(Number(resumed.offset) % (4 * 1024 * 1024), 0);

    const started = page.waitForEvent('download');
    await page.getByRole('link', { name: 'movie.bin', exact: true }).click();
    assert.deepEqual(await readFile(await (await started).path()), content);
    await second.close();
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
