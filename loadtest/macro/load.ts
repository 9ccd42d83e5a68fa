// Fast pipelined loader for the macro scenarios: commands are encoded in batches
// (CommandBatch) and streamed over one connection with a bounded number unanswered,
// every reply is checked, progress goes to stderr. Not redis-benchmark: the
// scenarios need their own keys, value sizes and reply checks.

import { CommandBatch, RespClient, RespError, showReply, type Reply } from '../resp-client.js';
import { HOST, die, progress } from './harness.js';

export interface LoadOptions {
  /** Commands sent in total. */
  total: number;
  /** Adds command #i (0-based) to the batch. */
  build: (batch: CommandBatch, i: number) => void;
  /** Most commands unanswered at once (e.g. 20k). */
  window: number;
  /** Commands per write (default: window / 10, at most 1000). */
  batch?: number;
  /** Sees every reply with its command index; default: requires +OK. */
  onReply?: (r: Reply, i: number) => void;
  /** Progress label for stderr (every 10 %); none if undefined. */
  label?: string;
}

export interface LoadResult { secs: number; errors: number; firstError: string | undefined }

/** Sends `total` commands; error replies are counted (and the first kept), anything but +OK fails unless onReply is given. */
export async function load(c: RespClient, o: LoadOptions): Promise<LoadResult> {
  const per = Math.max(1, Math.min(o.batch ?? Math.floor(o.window / 10), 1000, o.window));
  const tick = o.label ? progress(o.label, o.total) : undefined;
  let replied = 0;
  let errors = 0;
  let firstError: string | undefined;
  const onReply = (r: Reply) => {
    const i = replied++;
    if (r instanceof RespError) {
      errors++;
      firstError ??= `command #${i}: -${r.message}`;
    } else if (o.onReply) o.onReply(r, i);
    else if (r !== 'OK') die(`command #${i} got ${showReply(r)}, expected +OK`, 3);
    if (tick && (replied & 1023) === 0) tick(replied);
  };
  const t0 = process.hrtime.bigint();
  const batch = new CommandBatch(256 * 1024);
  for (let i = 0; i < o.total;) {
    const end = Math.min(o.total, i + per);
    for (; i < end; i++) o.build(batch, i);
    const n = batch.count;
    await c.stream(batch.take(), n, onReply, Math.max(0, o.window - per));
  }
  await c.settle(0);
  tick?.(o.total);
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, errors, firstError };
}

/** Connects to a scenario's server (long timeout: a loaded server may pause). */
export function connect(port: number): Promise<RespClient> {
  return RespClient.connect(port, HOST, 60_000);
}
