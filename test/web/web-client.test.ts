/**
 * The web client end to end: the real lpf-server, Debian's chromium driven through the page by
 * roles and labels as a person would, and the real lpf CLI on the same accounts and files.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newContext, screenshot, signIn, skipWithoutChromium, startWebServer, type WebServer } from '../helpers/browser.js';
import { asUser, runLpf, tempDir } from '../helpers/processes.js';

const skip = skipWithoutChromium();
/** Playwright's 30 s default is not enough for 50 MiB hashed in the page on a busy 2-core machine: a bound, not a pace. */
const UPLOAD_WAIT_MS = 300_000;

describe('web client', { skip }, () => {
  let web: WebServer;
  let browser: Browser;
  let folder: { path: string; cleanup(): Promise<void> };

  before(async () => {
    [web, browser, folder] = await Promise.all([startWebServer(), launchBrowser(), tempDir('lpf-web-')]);
  });
  after(async () => {
    if (process.env.LPF_WEB_DEBUG)
      console.log(
        web.server.logs
          .filter((l) => Number(l.level) >= 30 && l.msg !== 'connected')
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
    await browser?.close();
    await web?.server.stop();
    await folder?.cleanup();
  });

  /** Chooses `files` (in memory, or local paths: playwright hands over at most 50 MB from memory) with the file picker and waits until each is uploaded. */
  async function upload(page: Page, files: { name: string; buffer: Buffer }[] | string[]): Promise<void> {
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload files' }).click();
    const chosen = await chooser;
    await (files.every((f) => typeof f === 'string')
      ? chosen.setFiles(files)
      : chosen.setFiles(files.map((f) => ({ ...f, mimeType: 'application/octet-stream' }))));
    await page
      .getByRole('status')
      .filter({ hasText: /Uploaded \d+ files?\./ })
      .waitFor({ timeout: UPLOAD_WAIT_MS });
  }

  /** Downloads `name` by its link, as a person clicks it; resolves with the bytes. */
  async function download(page: Page, name: string): Promise<Buffer> {
    const started = page.waitForEvent('download');
    await page.getByRole('link', { name, exact: true }).click();
    return readFile(await (await started).path());
  }

  test('register, upload, download byte-identical, make a folder, rename, delete, log out', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(web.url);
    await screenshot(page, 'desktop-sign-in');
    await signIn(page, web.url, 'alice', 'alice-pass', true);
    const content = randomBytes(50 * 1024 * 1024 + 123); // many 4 MiB blocks and a short last one
    await writeFile(join(folder.path, 'report.bin'), content);
    await upload(page, [join(folder.path, 'report.bin')]);
    const bar = page.getByRole('progressbar', { name: 'Uploading report.bin' });
    assert.deepEqual(
      [await bar.getAttribute('value'), await bar.getAttribute('max')],
      Array(2).fill(String(content.length)),
      'progress reached 100 %',
    );
    const row = page.getByRole('row', { name: /report\.bin/ });
    await row.waitFor();
    assert.deepEqual(await download(page, 'report.bin'), content);

    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('Folder name').fill('Holidays');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('button', { name: 'Holidays', exact: true }).waitFor();
    await screenshot(page, 'desktop-files');

    await page.getByRole('button', { name: 'Rename report.bin' }).click();
    await page.getByLabel('New name').fill('renamed.bin');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await page.getByRole('link', { name: 'renamed.bin' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'report.bin' }).count(), 0);

    await page.getByRole('button', { name: 'Delete renamed.bin' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted renamed.bin.' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'renamed.bin' }).count(), 0);

    // Into the folder and back by the breadcrumbs.
    await page.getByRole('button', { name: 'Holidays', exact: true }).click();
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByText('Holidays').waitFor();
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('button', { name: 'My files' }).click();
    await page.getByRole('button', { name: 'Holidays', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in to lpf' }).waitFor();
    // The session ended on the server: a reload does not sign back in.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to lpf' }).waitFor();
    await context.close();
  });

  test('a wrong password and an unknown user get the same words', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, web.url, 'bob', 'bob-pass', true);
    await context.clearCookies();
    await page.goto(web.url);
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Password').fill('not-his');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'wrong user name or password' }).waitFor();
    await page.getByLabel('User name').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await alert.filter({ hasText: 'wrong user name or password' }).waitFor();
    await screenshot(page, 'desktop-wrong-password');
    await context.close();
  });

  test('a name with HTML in it is shown as text, never run', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(page, web.url, 'carol', 'carol-pass', true);
    const name = '<img src=x onerror=alert(1)>';
    await upload(page, [{ name, buffer: Buffer.from('html?') }]);
    await page.getByRole('link', { name, exact: true }).waitFor();
    assert.equal(await page.locator('table img').count(), 0);
    assert.deepEqual(dialogs, []);
    await context.close();
  });

  test("a second user sees none of the first one's files, not even by their address", async () => {
    const alice = await newContext(browser);
    const alicePage = await alice.newPage();
    await signIn(alicePage, web.url, 'dave', 'dave-pass', true);
    await upload(alicePage, [{ name: 'secret.txt', buffer: Buffer.from('for dave only') }]);
    const eve = await newContext(browser);
    const evePage = await eve.newPage();
    await signIn(evePage, web.url, 'eve', 'eve-pass', true);
    await evePage.getByText('This folder is empty').waitFor();
    const response = await evePage.request.get(`${web.url}/api/file?path=secret.txt`);
    assert.equal(response.status(), 404);
    await Promise.all([alice.close(), eve.close()]);
  });

  test('the page downloads what the CLI uploaded, and the CLI what the page uploaded, byte-identical', async () => {
    const fromCli = randomBytes(300_000);
    await writeFile(join(folder.path, 'from-cli.bin'), fromCli);
    const env = asUser('frank', 'frank-pass', true);
    const up = await runLpf([web.server.address, '-upload', join(folder.path, 'from-cli.bin')], { env });
    assert.equal(up.code, 0, up.stderr);

    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, web.url, 'frank', 'frank-pass');
    assert.deepEqual(await download(page, 'from-cli.bin'), fromCli);
    const fromPage = randomBytes(4 * 1024 * 1024); // exactly one block
    await upload(page, [{ name: 'from-page.bin', buffer: fromPage }]);
    const target = join(folder.path, 'from-page.bin');
    const down = await runLpf([web.server.address, '-download', 'from-page.bin', '--to', target], { env: asUser('frank', 'frank-pass') });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await readFile(target), fromPage);
    await context.close();
  });

  test('a folder chosen with the folder picker arrives with its tree; sorting by size reorders the table', async () => {
    const album = join(folder.path, 'album');
    await mkdir(join(album, 'inner'), { recursive: true });
    const deep = randomBytes(70_000);
    await Promise.all([
      writeFile(join(album, 'a.txt'), 'aaaa'),
      writeFile(join(album, 'b.txt'), 'b'),
      writeFile(join(album, 'inner', 'deep.bin'), deep),
    ]);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, web.url, 'heidi', 'heidi-pass', true);
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload folder' }).click();
    await (await chooser).setFiles(album);
    await page.getByRole('status').filter({ hasText: 'Uploaded 3 files.' }).waitFor();
    await page.getByRole('button', { name: 'album', exact: true }).click();
    await page.getByRole('link', { name: 'a.txt' }).waitFor();
    const names = () => page.getByRole('row').locator('th[scope=row]').allInnerTexts();
    assert.deepEqual(await names(), ['inner', 'a.txt', 'b.txt']);
    await page.getByRole('button', { name: 'Size' }).click();
    assert.deepEqual(await names(), ['inner', 'b.txt', 'a.txt']);
    await page.getByRole('button', { name: 'Size' }).click();
    assert.deepEqual((await names()).slice(-2), ['a.txt', 'b.txt']);
    // The whole folder as a zip, streamed: its entries hold the same bytes.
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('button', { name: 'My files' }).click();
    const started = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download album as zip' }).click();
    const zipped = await (await started).path();
    const unzipped = join(folder.path, 'unzipped');
    await promisify(execFile)('unzip', ['-q', zipped, '-d', unzipped]);
    assert.equal(await readFile(join(unzipped, 'a.txt'), 'utf8'), 'aaaa');
    assert.equal(await readFile(join(unzipped, 'b.txt'), 'utf8'), 'b');
    assert.deepEqual(await readFile(join(unzipped, 'inner', 'deep.bin')), deep);
    const target = join(folder.path, 'deep-back.bin');
    const down = await runLpf([web.server.address, '-download', 'album/inner/deep.bin', '--to', target], {
      env: asUser('heidi', 'heidi-pass'),
    });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await readFile(target), deep);
    await context.close();
  });

  test('Move to… puts a file or a folder into a folder picked from a labelled list', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, web.url, 'mallory', 'mallory-pass', true);
    for (const name of ['Docs', 'Archive']) {
      await page.getByRole('button', { name: 'New folder' }).click();
      await page.getByLabel('Folder name').fill(name);
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('button', { name, exact: true }).waitFor();
    }
    await upload(page, [{ name: 'note.txt', buffer: Buffer.from('moved note') }]);

    await page.getByRole('button', { name: 'Move note.txt' }).click();
    const destination = page.getByLabel('Destination folder');
    // The dialog opens once the folders are listed: wait for it (allInnerTexts does not wait).
    await destination.locator('option').first().waitFor({ state: 'attached' });
    assert.deepEqual(await destination.locator('option').allInnerTexts(), ['Docs', 'Archive'].sort());
    await destination.selectOption('Archive');
    await page.getByRole('dialog').getByRole('button', { name: 'Move' }).click();
    await page.getByRole('status').filter({ hasText: 'Moved note.txt to Archive.' }).waitFor();
    // The status comes first, the folder shown again after it: wait for the row to go.
    await page.getByRole('link', { name: 'note.txt' }).waitFor({ state: 'detached' });

    // A folder is offered neither itself nor the folder it is in; the keyboard alone picks and confirms.
    await page.getByRole('button', { name: 'Move Archive' }).click();
    await destination.locator('option').first().waitFor({ state: 'attached' });
    assert.deepEqual(await destination.locator('option').allInnerTexts(), ['Docs']);
    await destination.focus();
    await page.keyboard.press('Tab'); // Cancel
    await page.keyboard.press('Tab'); // Move
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Moved Archive to Docs.' }).waitFor();
    await page.getByRole('button', { name: 'Docs', exact: true }).click();
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    assert.deepEqual(await download(page, 'note.txt'), Buffer.from('moved note'));
    await context.close();
  });

  test('at phone width the page is usable', async () => {
    const context = await newContext(browser, true);
    const page = await context.newPage();
    await page.goto(web.url);
    await screenshot(page, 'phone-sign-in');
    await signIn(page, web.url, 'grace', 'grace-pass', true);
    await upload(page, [{ name: 'notes with a long name that wraps.txt', buffer: Buffer.from('phone') }]);
    await screenshot(page, 'phone-files');
    const width = await page.evaluate('document.documentElement.scrollWidth');
    assert.ok(Number(width) <= 390, `the page is ${String(width)} px wide at 390 px`);
    await context.close();
  });
});
