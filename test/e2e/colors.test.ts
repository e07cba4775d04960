/** Colour in what lpf prints: on a terminal unless NO_COLOR, never into a pipe unless FORCE_COLOR. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LPF, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';
import { skipWithoutScript, runInPty } from '../helpers/pty.js';

/** Any SGR sequence (colour, bold, dim). The test helpers set NO_COLOR=1 by default; these tests clear it. */
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[\d;]*m/;
const COLOUR_ALLOWED = { NO_COLOR: '' };

describe('colours at a terminal (pseudo-terminal)', { skip: skipWithoutScript() }, () => {
  test('an error is coloured at a terminal', async () => {
    const r = await runInPty([process.execPath, LPF, '127.0.0.1:1'], [], { env: COLOUR_ALLOWED });
    assert.equal(r.code, 2, r.screen);
    assert.match(r.screen, /\x1b\[31mlpf: error:/); // eslint-disable-line no-control-regex
  });

  test('NO_COLOR=1 turns colour off at a terminal', async () => {
    const r = await runInPty([process.execPath, LPF, '127.0.0.1:1'], [], { env: { NO_COLOR: '1' } });
    assert.equal(r.code, 2, r.screen);
    assert.match(r.screen, /lpf: error: no command given/);
    assert.doesNotMatch(r.screen, SGR);
  });

  test('TERM=dumb turns colour off at a terminal', async () => {
    const r = await runInPty([process.execPath, LPF, '127.0.0.1:1'], [], { env: { ...COLOUR_ALLOWED, TERM: 'dumb' } });
    assert.doesNotMatch(r.screen, SGR);
  });
});

describe('colours into a pipe', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test('an error into a pipe is never coloured', async () => {
    const r = await runLpf(['127.0.0.1:1'], { env: COLOUR_ALLOWED });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^lpf: error: no command given .*\[LPF_ERR_USAGE\]\n$/);
    assert.doesNotMatch(r.stderr + r.stdout, SGR);
  });

  test('a warning into a pipe is not coloured; FORCE_COLOR=1 colours it, and NO_COLOR wins over that', async () => {
    // A fresh configuration folder: the server is new there, so lpf warns that it trusts it on first use.
    const runFresh = async (env: Record<string, string>) => {
      const config = await tempDir('lpf-colors-');
      try {
        return await runLpf([server.address, '-ping'], { env: { XDG_CONFIG_HOME: config.path, ...env } });
      } finally {
        await config.cleanup();
      }
    };
    const plain = await runFresh(COLOUR_ALLOWED);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^lpf: warning: trusting /);
    assert.doesNotMatch(plain.stderr + plain.stdout, SGR);

    const forced = await runFresh({ ...COLOUR_ALLOWED, FORCE_COLOR: '1' });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /\x1b\[33mlpf: warning:/); // eslint-disable-line no-control-regex

    const both = await runFresh({ NO_COLOR: '1', FORCE_COLOR: '1' });
    assert.doesNotMatch(both.stderr + both.stdout, SGR);
  });
});
