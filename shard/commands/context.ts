/**
 * What a command handler sees: the worker's keyspace, the reply writer of the
 * connection that sent the command, that connection's state and the worker.
 * Handlers parse argv, call keyspace ops and write exactly one reply.
 */
import type { Keyspace } from '../keyspace.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';
import type { ClientState } from '../../shared/connection/client-state.js';
import type { WorkerServer } from '../worker/server.js';

export interface CommandContext {
  ks: Keyspace;
  out: ReplyWriter;
  client: ClientState;
  server: WorkerServer;
  /** Called once a blocked command of this connection has written its reply (the session flushes it and runs what the client sent meanwhile). */
  resume: () => void;
}

export type Handler = (ctx: CommandContext, argv: Buffer[]) => void;
export type HandlerTable = Readonly<Record<string, Handler>>;
