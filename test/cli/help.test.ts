/** The help texts: an overview naming every command, and each command's own help with an example. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HELP_COMMANDS, commandHelp, generalHelp } from '../../src/cli/help.js';

/** Every command lpf has, written out here so that a command that loses its help is noticed. */
const COMMANDS = ['ping', 'upload', 'download', 'list', 'mkdir', 'rename', 'copy', 'delete', 'login', 'logout', 'whoami'];

/** The lines after an "Example:" or "Examples:" heading, up to the next blank line. */
function examples(help: string): string[] {
  const m = /^Examples?:\n((?: {2}.+\n)+)/m.exec(help);
  return m ? (m[1] as string).trimEnd().split('\n') : [];
}

describe('per-command help', () => {
  for (const command of COMMANDS) {
    test(`-${command} has usage, options and an example that runs it`, () => {
      const help = commandHelp(command);
      assert.ok(help, `no help for ${command}`);
      assert.match(help, new RegExp(`^Usage: lpf ADDRESS -${command}\\b`));
      assert.match(help, /^Options:\n {2}-/m);
      const lines = examples(help);
      assert.ok(lines.length > 0, `no Example section for ${command}`);
      for (const line of lines) assert.match(line, new RegExp(`\\blpf \\S+ -${command}\\b`), line);
    });
  }

  test('lists exactly the commands lpf has', () => {
    assert.deepEqual([...HELP_COMMANDS].sort(), [...COMMANDS].sort());
  });

  test('a command may be named with its dash or two, as typed', () => {
    assert.equal(commandHelp('-upload'), commandHelp('upload'));
    assert.equal(commandHelp('--upload'), commandHelp('upload'));
  });

  test('an unknown command has none', () => {
    for (const name of ['', 'nope', 'toString', '__proto__', 'constructor']) assert.equal(commandHelp(name), undefined, name);
  });

  test('the transfer commands document --to and -r, -download --force, -list --long', () => {
    for (const command of ['upload', 'download']) {
      assert.match(commandHelp(command) as string, /^ {2}--to /m);
      assert.match(commandHelp(command) as string, /^ {2}-r, --recursive /m);
      assert.match(commandHelp(command) as string, /^ {2}--checksum /m);
    }
    assert.match(commandHelp('download') as string, /^ {2}--force /m);
    assert.doesNotMatch(commandHelp('upload') as string, /^ {2}--force /m);
    assert.match(commandHelp('list') as string, /^ {2}-l, --long /m);
  });
});

describe('general help', () => {
  const help = generalHelp();

  test('names every command with its syntax', () => {
    for (const command of COMMANDS) assert.match(help, new RegExp(`^ {2}-${command}\\b`, 'm'), command);
    assert.match(help, /-upload LOCAL\.\.\. \[--to REMOTE\] \[-r\]/);
    assert.match(help, /-download REMOTE\.\.\. \[--to LOCAL\] \[-r\]/);
  });

  test('keeps the Account, Server identity and Examples sections', () => {
    assert.match(help, /^Account: /m);
    assert.match(help, /^Server identity: /m);
    assert.ok(examples(help).length > 0);
  });

  test("tells how to get a command's own help", () => {
    assert.match(help, /lpf -COMMAND --help/);
  });
});
