/**
 * SAVE, BGSAVE [SCHEDULE] and LASTSAVE on one worker, with Redis 7's replies and
 * errors. Through the proxy each runs on every worker (proxy/fanout.ts joins them).
 */
import type { CommandContext, HandlerTable } from '../commands/context.js';
import { kInExec } from '../../shared/connection/client-state.js';

/** SAVE: blocks this worker until its snapshot is on disk (as Redis's SAVE). */
function save(ctx: CommandContext): void {
  const st = ctx.server.snapshots;
  if (st.running !== null) return ctx.out.error('ERR Background save already in progress');
  try {
    st.saveNow();
    ctx.out.ok();
  } catch (err) {
    st.log?.warn({ err: (err as Error).message }, 'SAVE failed');
    ctx.out.error('ERR');
  }
}

/** BGSAVE [SCHEDULE] */
function bgsave(ctx: CommandContext, argv: Buffer[]): void {
  let schedule = false;
  if (argv.length > 1) {
    if (argv.length === 2 && argv[1]!.toString('latin1').toLowerCase() === 'schedule') schedule = true;
    else return ctx.out.error('ERR syntax error');
  }
  const st = ctx.server.snapshots;
  if (st.running !== null && st.running.purpose === 'bgsave') return ctx.out.error('ERR Background save already in progress');
  if (st.running !== null || ctx.client.flags & kInExec) {
    if (!schedule && !(ctx.client.flags & kInExec)) {
      return ctx.out.error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    st.scheduled = true;
    return ctx.out.simple('Background saving scheduled');
  }
  st.startBgsave('BGSAVE');
  ctx.out.simple('Background saving started');
}

function lastsave(ctx: CommandContext): void {
  ctx.out.integer(ctx.server.snapshots.lastSave);
}

export const snapshotCommands: HandlerTable = { save, bgsave, lastsave };
