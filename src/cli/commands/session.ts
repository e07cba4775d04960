/** -login, -logout and -whoami: the session kept for a server (authenticate.ts does the work). */
import { loginCommand, logoutCommand, whoamiCommand } from '../authenticate.js';
import { EXAMPLE_HOST, example, type CommandSpec } from './command.js';

export const LOGIN: CommandSpec = {
  operands: { min: 0, max: 0, what: 'no names' },
  options: [],
  synopsis: '',
  summary: 'log in and keep a session for later commands',
  description: `Logs in and keeps a session for this server (in $XDG_CONFIG_HOME/lpf/sessions.json),
so that later commands do not ask again until it expires or you -logout.
On a terminal it asks for the user name and password (a wrong password may be
typed again, three tries in all); a script sets LPF_USER and LPF_PASSWORD.`,
  examples: [example('-login'), `LPF_USER=alice LPF_PASSWORD=... lpf ${EXAMPLE_HOST} -login`],
  run: (ctx) => loginCommand(ctx),
};

export const LOGOUT: CommandSpec = {
  operands: { min: 0, max: 0, what: 'no names' },
  options: [],
  synopsis: '',
  summary: 'end the session (on the server too)',
  description: 'Ends the session kept for this server, on the server too, and forgets it here.',
  examples: [example('-logout')],
  run: (ctx) => logoutCommand(ctx),
};

export const WHOAMI: CommandSpec = {
  operands: { min: 0, max: 0, what: 'no names' },
  options: [],
  synopsis: '',
  summary: 'show who the next command runs as',
  description:
    'Shows the account the next command to this server runs as: LPF_USER when set (with\nLPF_REGISTER=1, the account is created if it does not exist yet), else the stored\nsession, with its expiry.',
  examples: [example('-whoami')],
  run: (ctx) => whoamiCommand(ctx),
};
