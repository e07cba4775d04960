/** -ping: is the server there, and how far away? Needs no account. */
import { formatAddress } from '../../client/address.js';
import { anonymous, example, type CommandSpec } from './command.js';

export const PING: CommandSpec = {
  operands: { min: 0, max: 0, what: 'no names' },
  options: [],
  synopsis: '',
  summary: 'check the server: pong and the round-trip time',
  description: 'Checks that the server answers, and prints "pong" with the round-trip time.\nNeeds no account.',
  examples: [example('-ping')],
  run: (ctx) =>
    anonymous(ctx, async (client) => {
      const ms = await client.ping();
      const server = formatAddress(client.address);
      ctx.out.result(`pong from ${server} in ${ms.toFixed(2)} ms`, { server, ms: Number(ms.toFixed(3)) });
    }),
};
