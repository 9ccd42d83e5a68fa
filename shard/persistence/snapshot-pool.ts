/**
 * The output side of a background snapshot, hosted on the shard process's MAIN thread:
 * a piscina pool encodes each raw chunk (./snapshot-encode.ts: deflate + CRC32) and the
 * main thread appends the sections to the temp file in order, then writes the end
 * marker, fsyncs, renames and fsyncs the directory. The data-plane worker only walks
 * the keyspace and copies records into chunks.
 *
 *   worker thread (SnapshotRun)          main thread (shard/main.ts)            pool thread
 *   sink.write(chunk) --snapshot-sink: write (chunk copied)-->  host.write() -- run() --> encodeTask()
 *        ^---------------------- snapshot-sink-reply (ack) ----------'   appends section
 *   sink.finish() / abort()  ------------------------------->  end marker, fsync, rename
 *
 * Why the main thread: starting a thread blocks the thread that starts it (20-110 ms
 * measured for piscina's first run on this 2-core box), and every 1 MiB buffer a
 * worker allocates or receives counts as external memory in its isolate and brings
 * its next full GC closer (10-25 ms mark-compacts measured when sections came back to
 * the worker). So chunks are copied into the message (the worker reuses its one chunk
 * buffer) and nothing but an acknowledgement comes back.
 *
 * Outside a worker thread (a keyspace served on the main thread) the host is called
 * directly.
 */
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Piscina } from 'piscina';
import { encodeEnd, END_BYTES } from './snapshot-format.js';
import type { SnapshotCompression } from './snapshot-encode.js';

let pool: Piscina | null = null;

function encoderPool(): Piscina {
  pool ??= new Piscina({
    filename: new URL('./snapshot-encode.js', import.meta.url).href,
    minThreads: 0,
    maxThreads: Math.max(1, Math.min(2, availableParallelism() - 1)),
    idleTimeout: 30_000,
  });
  return pool;
}

function asBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  const u = v as Uint8Array;
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** The worker's handle on its snapshot's file. Every call resolves when done on the main thread. */
export interface SnapshotSink {
  /** Encodes and appends one section of `records` records (chunk[0, length) is copied at once). */
  write(chunk: Buffer, length: number, records: number): Promise<void>;
  /** End marker, fsync, rename over `file`, fsync of the directory; resolves with the file's size. */
  finish(records: number): Promise<number>;
  /** Closes and deletes the temp file. */
  abort(): Promise<void>;
}

// --- main-thread host -------------------------------------------------------------------

/** One snapshot file being written on the main thread. */
class SinkHost {
  #fh: Promise<FileHandle>;
  #tail: Promise<void>;
  #bytes: number;
  #sections = 0;
  /** Sections submitted (encoding may finish out of order; the index is the section's nonce). */
  #submitted = 0;
  /** The first failed write: the file is incomplete and must not be finished. */
  #error: Error | null = null;
  constructor(readonly tmp: string, readonly file: string, header: Uint8Array, readonly compress: SnapshotCompression, readonly sealKey: Uint8Array | null = null) {
    this.#bytes = header.length;
    this.#fh = open(tmp, 'w');
    this.#tail = this.#fh.then(async (fh) => {
      await fh.write(header);
    });
  }

  write(chunk: Uint8Array, length: number, records: number): Promise<void> {
    // Encoding starts now (in the pool); appends keep submission order.
    const buf = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk.buffer as ArrayBuffer : chunk.slice().buffer;
    const index = this.#submitted++;
    const task = this.sealKey === null ? { buf, length, records, compress: this.compress } : { buf, length, records, compress: this.compress, seal: { key: this.sealKey, index } };
    const encoded = (encoderPool().run(task, { transferList: [buf] }) as Promise<unknown>).then(asBuffer);
    encoded.catch(() => {});
    const done = this.#tail.then(async () => {
      const section = await encoded;
      await (await this.#fh).write(section);
      this.#bytes += section.length;
      this.#sections++;
    });
    this.#tail = done.catch((err: Error) => {
      this.#error ??= err;
    });
    return done;
  }

  async finish(records: number): Promise<number> {
    await this.#tail;
    if (this.#error !== null) {
      await this.abort();
      throw this.#error;
    }
    const fh = await this.#fh;
    await fh.write(encodeEnd(this.#sections, records, this.#bytes));
    await fh.sync();
    await fh.close();
    await rename(this.tmp, this.file);
    const dh = await open(dirname(this.file), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    return this.#bytes + END_BYTES;
  }

  async abort(): Promise<void> {
    await this.#tail.catch(() => {});
    await this.#fh.then((fh) => fh.close()).catch(() => {});
    await unlink(this.tmp).catch(() => {});
  }
}

// --- messages between the worker and the main thread -----------------------------------------

type SinkRequest =
  | { type: 'snapshot-sink'; op: 'open'; id: number; sink: number; tmp: string; file: string; header: Uint8Array; compress: SnapshotCompression; sealKey: Uint8Array | null }
  | { type: 'snapshot-sink'; op: 'write'; id: number; sink: number; chunk: Uint8Array; records: number }
  | { type: 'snapshot-sink'; op: 'finish'; id: number; sink: number; records: number }
  | { type: 'snapshot-sink'; op: 'abort'; id: number; sink: number };
interface SinkReply { type: 'snapshot-sink-reply'; id: number; value?: number; error?: string }

let seq = 0;
const waiting = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
let listening = false;

function request(msg: SinkRequest): Promise<number> {
  const port = parentPort!;
  if (!listening) {
    listening = true;
    port.on('message', (m: SinkReply) => {
      if (m?.type !== 'snapshot-sink-reply') return;
      const w = waiting.get(m.id);
      if (w === undefined) return;
      waiting.delete(m.id);
      if (m.error === undefined) w.resolve(m.value ?? 0);
      else w.reject(new Error(m.error));
    });
  }
  return new Promise<number>((resolve, reject) => {
    waiting.set(msg.id, { resolve, reject });
    port.postMessage(msg);
  });
}

/** Opens a snapshot's output: on the main thread, whichever thread calls. */
export function openSnapshotSink(tmp: string, file: string, header: Buffer, compress: SnapshotCompression, sealKey: Buffer | null = null): SnapshotSink {
  if (isMainThread || parentPort === null) {
    const host = new SinkHost(tmp, file, header, compress, sealKey);
    return {
      write: (chunk, length, records) => host.write(Buffer.from(chunk.subarray(0, length)), length, records),
      finish: (records) => host.finish(records),
      abort: () => host.abort(),
    };
  }
  const sink = ++seq;
  const opened = request({ type: 'snapshot-sink', op: 'open', id: ++seq, sink, tmp, file, header, compress, sealKey });
  opened.catch(() => {});
  return {
    // The chunk is copied into the message: the caller may reuse it at once.
    write: (chunk, length, records) => request({ type: 'snapshot-sink', op: 'write', id: ++seq, sink, chunk: chunk.subarray(0, length), records }).then(() => {}),
    finish: (records) => opened.then(() => request({ type: 'snapshot-sink', op: 'finish', id: ++seq, sink, records })),
    abort: () => request({ type: 'snapshot-sink', op: 'abort', id: ++seq, sink }).then(() => {}),
  };
}

const hosts = new Map<string, SinkHost>();

/** Main thread: a worker's 'snapshot-sink' message (shard/main.ts forwards it here). */
export function serveSnapshotSink(worker: Worker, m: SinkRequest): void {
  const key = `${worker.threadId}:${m.sink}`;
  const reply = (p: Promise<number | void>): void => {
    p.then(
      (value) => worker.postMessage({ type: 'snapshot-sink-reply', id: m.id, value: value ?? 0 } satisfies SinkReply),
      (err: Error) => worker.postMessage({ type: 'snapshot-sink-reply', id: m.id, error: err.message } satisfies SinkReply),
    );
  };
  if (m.op === 'open') {
    const host = new SinkHost(m.tmp, m.file, m.header, m.compress, m.sealKey ?? null);
    hosts.set(key, host);
    return reply(Promise.resolve(0));
  }
  const host = hosts.get(key);
  if (host === undefined) return reply(Promise.reject(new Error('snapshot sink is not open')));
  if (m.op === 'write') return reply(host.write(m.chunk, m.chunk.length, m.records));
  hosts.delete(key);
  reply(m.op === 'finish' ? host.finish(m.records) : host.abort());
}

/** Stops the pool's threads (shard shutdown). */
export async function closeEncoderPool(): Promise<void> {
  const p = pool;
  pool = null;
  if (p !== null) await p.destroy();
}
