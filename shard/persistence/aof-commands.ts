/**
 * BGREWRITEAOF on one worker, with Redis 7's replies. Through the proxy it runs on
 * every worker (route 'all', proxy/fanout.ts joins the replies).
 */
import type { CommandContext, HandlerTable } from '../commands/context.js';

function bgrewriteaof(ctx: CommandContext): void {
  const aof = ctx.server.aof;
  const err = aof.bgrewrite();
  if (err !== null) return ctx.out.error(err);
  ctx.out.simple('Background append only file rewriting started');
}

export const aofCommands: HandlerTable = { bgrewriteaof };
