/**
 * ProcessGroup: how the proxy's processes talk to each other (docs/proxy-processes.md).
 *
 * Single-process mode (proxy.processes = 1): one RESP process, size 1, no IPC at all;
 * askAll answers from the local handler.
 *
 * Multi-process mode: a cluster primary (index -1, serves no RESP, runs the admin HTTP
 * server) and N RESP workers (index 0..N-1) that share the client port through
 * node:cluster. Every message goes through the primary over the cluster IPC channel:
 *
 *   worker i ──join───▶ primary ──init───▶ worker i   (every shared payload held)
 *   worker i ──share──▶ primary ──share──▶ every joined worker but i
 *                         └─ keeps the last payload per topic; a (re)started worker
 *                            gets them all in its `init` message before it listens
 *   worker i ──bcast──▶ primary ──bcast──▶ every worker but i (and the primary's handlers)
 *   worker i ──ask────▶ primary ──q──────▶ every worker but i ──a──▶ primary
 *                         └─ answers (by index, after all replied or the timeout) ──▶ worker i
 *
 * A message that reaches a process before it has a 'message' listener is dropped, so
 * the primary sends a worker nothing until the worker says `join` (sent once its
 * listener is in place). IPC messages between two processes arrive in the order sent,
 * so a worker that got `init` and later `share` messages holds the primary's latest
 * state. Broadcasts sent before a worker joined do not reach it: state a restarted
 * process needs goes through share(). Payloads use the
 * cluster's `advanced` serialization (structured clone: Buffers, Maps, bigints pass).
 * Nothing here runs per command.
 */
import type { Worker } from 'node:cluster';

/** Client ids per started RESP process (see clientIdBase). */
export const CLIENT_ID_BLOCK = 2 ** 40;

/** askAll's default bound: a process that has not answered by then is left out. */
export const DEFAULT_ASK_TIMEOUT_MS = 2000;

type SharedHandler = (payload: unknown) => void;
type TopicHandler = (payload: unknown, from: number) => void;
type AnswerHandler = (payload: unknown) => unknown | Promise<unknown>;

/** The IPC messages; `pg` tells them apart from other messages on the channel. */
type GroupMessage =
  | { pg: 'join' }
  | { pg: 'init'; shared: Array<[string, unknown]> }
  | { pg: 'share'; topic: string; payload: unknown }
  | { pg: 'bcast'; topic: string; payload: unknown; from: number }
  | { pg: 'ask'; id: number; topic: string; payload: unknown; timeoutMs: number }
  | { pg: 'q'; id: number; topic: string; payload: unknown }
  | { pg: 'a'; id: number; ok: boolean; value: unknown }
  | { pg: 'answers'; id: number; answers: Array<[number, unknown]> };

function isGroupMessage(m: unknown): m is GroupMessage {
  return typeof m === 'object' && m !== null && typeof (m as { pg?: unknown }).pg === 'string';
}

/** One question the primary is collecting answers for. */
interface Collection {
  waiting: Set<number>;
  answers: Array<[number, unknown]>;
  timer: NodeJS.Timeout;
  done: (answers: Array<[number, unknown]>) => void;
}

type Role = 'single' | 'worker' | 'primary';

export class ProcessGroup {
  /** This RESP process's index 0..size-1; -1 in the cluster primary. */
  readonly index: number;
  /** Number of RESP-serving proxy processes (1 = single-process mode). */
  readonly size: number;
  /**
   * This process numbers its clients from here (CLIENT ID): the primary gives every
   * worker it starts, restarts included, a fresh block of 2^40 ids, so ids stay
   * unique across processes and are never reused.
   */
  readonly clientIdBase: number;
  readonly #role: Role;
  readonly #shared = new Map<string, unknown>();
  readonly #sharedHandlers = new Map<string, SharedHandler[]>();
  readonly #topicHandlers = new Map<string, TopicHandler[]>();
  readonly #answerHandlers = new Map<string, AnswerHandler>();
  /** Worker: askAll calls waiting for the primary's `answers`. */
  readonly #pendingAsks = new Map<number, (answers: Array<[number, unknown]>) => void>();
  /** Primary: the live worker per index. */
  readonly #workers: Array<Worker | undefined> = [];
  /** Primary: questions out to the workers. */
  readonly #collections = new Map<number, Collection>();
  #seq = 0;
  #initialized: Promise<void>;
  #markInitialized: () => void = () => {};

  private constructor(role: Role, index: number, size: number, clientIdBase = 0) {
    this.#role = role;
    this.index = index;
    this.size = size;
    this.clientIdBase = clientIdBase;
    this.#initialized = role === 'worker' ? new Promise((r) => { this.#markInitialized = r; }) : Promise.resolve();
  }

  /** The only process: no IPC. */
  static single(): ProcessGroup {
    return new ProcessGroup('single', 0, 1);
  }

  /** A RESP worker of a cluster primary: talks over process.send. */
  static worker(index: number, size: number, clientIdBase = index * CLIENT_ID_BLOCK): ProcessGroup {
    const g = new ProcessGroup('worker', index, size, clientIdBase);
    process.on('message', (m: unknown) => {
      if (isGroupMessage(m)) g.#fromPrimary(m);
    });
    g.#toPrimary({ pg: 'join' });
    return g;
  }

  /** The cluster primary of `size` RESP workers; attach() each forked worker. */
  static primary(size: number): ProcessGroup {
    return new ProcessGroup('primary', -1, size);
  }

  get isPrimary(): boolean {
    return this.#role === 'primary';
  }

  /** Worker: resolves once the primary's shared state arrived (listen only after this). */
  initialized(): Promise<void> {
    return this.#initialized;
  }

  // ---- the contract ------------------------------------------------------------

  share(topic: string, payload: unknown): void {
    this.#shared.set(topic, payload);
    if (this.#role === 'worker') this.#toPrimary({ pg: 'share', topic, payload });
    else if (this.#role === 'primary') this.#relayShared(topic, payload, -1);
  }

  /** `handler` also runs at once with the payload already held for `topic`, if any. */
  onShared(topic: string, handler: (payload: unknown) => void): void {
    let list = this.#sharedHandlers.get(topic);
    if (!list) this.#sharedHandlers.set(topic, (list = []));
    list.push(handler);
    if (this.#shared.has(topic)) handler(this.#shared.get(topic));
  }

  broadcast(topic: string, payload: unknown): void {
    if (this.#role === 'worker') this.#toPrimary({ pg: 'bcast', topic, payload, from: this.index });
    else if (this.#role === 'primary') this.#relayBroadcast(topic, payload, -1);
  }

  on(topic: string, handler: (payload: unknown, from: number) => void): void {
    let list = this.#topicHandlers.get(topic);
    if (!list) this.#topicHandlers.set(topic, (list = []));
    list.push(handler);
  }

  answer(topic: string, handler: (payload: unknown) => unknown | Promise<unknown>): void {
    this.#answerHandlers.set(topic, handler);
  }

  /** Every RESP process's answer in index order; one that fails or is late is omitted. */
  async askAll(topic: string, payload: unknown, timeoutMs = DEFAULT_ASK_TIMEOUT_MS): Promise<unknown[]> {
    if (this.#role === 'primary') {
      const answers = await this.#collect(topic, payload, timeoutMs, -1);
      return answers.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    }
    const local = this.#answerLocally(topic, payload, timeoutMs);
    if (this.#role === 'single' || this.size === 1) {
      const r = await local;
      return r.ok ? [r.value] : [];
    }
    const id = ++this.#seq;
    const remote = new Promise<Array<[number, unknown]>>((resolve) => {
      // The primary replies at its own timeout; this one only guards against a lost primary.
      const timer = setTimeout(() => {
        this.#pendingAsks.delete(id);
        resolve([]);
      }, timeoutMs + 1000);
      this.#pendingAsks.set(id, (answers) => {
        clearTimeout(timer);
        resolve(answers);
      });
    });
    if (!this.#toPrimary({ pg: 'ask', id, topic, payload, timeoutMs })) this.#pendingAsks.get(id)?.([]);
    const [mine, others] = await Promise.all([local, remote]);
    const all = mine.ok ? [[this.index, mine.value] as [number, unknown], ...others] : others;
    return all.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  // ---- primary: workers come and go -------------------------------------------

  /**
   * Primary: `worker` now serves `index`. Once it joins it gets every shared payload,
   * then takes part in shares, broadcasts and questions.
   */
  attach(worker: Worker, index: number): void {
    worker.on('message', (m: unknown) => {
      if (!isGroupMessage(m)) return;
      if (m.pg === 'join') {
        this.#workers[index] = worker;
        this.#sendTo(worker, { pg: 'init', shared: [...this.#shared] });
      } else if (this.#workers[index] === worker) {
        this.#fromWorker(index, worker, m);
      }
    });
  }

  /** Primary: the worker at `index` exited; questions stop waiting for it. */
  detach(worker: Worker, index: number): void {
    if (this.#workers[index] === worker) this.#workers[index] = undefined;
    for (const [id, c] of this.#collections) {
      if (c.waiting.delete(index) && c.waiting.size === 0) this.#finish(id);
    }
  }

  // ---- internals -----------------------------------------------------------------

  #toPrimary(m: GroupMessage): boolean {
    if (!process.connected || process.send === undefined) return false;
    try {
      process.send(m);
      return true;
    } catch {
      return false;
    }
  }

  #sendTo(worker: Worker, m: GroupMessage): boolean {
    if (!worker.isConnected()) return false;
    try {
      worker.send(m);
      return true;
    } catch {
      return false;
    }
  }

  #runShared(topic: string, payload: unknown): void {
    this.#shared.set(topic, payload);
    for (const h of this.#sharedHandlers.get(topic) ?? []) h(payload);
  }

  #runTopic(topic: string, payload: unknown, from: number): void {
    for (const h of this.#topicHandlers.get(topic) ?? []) h(payload, from);
  }

  async #answerLocally(topic: string, payload: unknown, timeoutMs: number): Promise<{ ok: boolean; value: unknown }> {
    const h = this.#answerHandlers.get(topic);
    if (!h) return { ok: false, value: undefined };
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<{ ok: boolean; value: unknown }>((r) => { timer = setTimeout(() => r({ ok: false, value: undefined }), timeoutMs); });
      return await Promise.race([Promise.resolve(h(payload)).then((value) => ({ ok: true, value })), late]);
    } catch {
      return { ok: false, value: undefined };
    } finally {
      clearTimeout(timer);
    }
  }

  #fromPrimary(m: GroupMessage): void {
    switch (m.pg) {
      case 'init':
        for (const [topic, payload] of m.shared) this.#runShared(topic, payload);
        this.#markInitialized();
        return;
      case 'share':
        return this.#runShared(m.topic, m.payload);
      case 'bcast':
        return this.#runTopic(m.topic, m.payload, m.from);
      case 'q':
        void this.#answerLocally(m.topic, m.payload, DEFAULT_ASK_TIMEOUT_MS * 5).then(({ ok, value }) => {
          this.#toPrimary({ pg: 'a', id: m.id, ok, value });
        });
        return;
      case 'answers':
        this.#pendingAsks.get(m.id)?.(m.answers);
        this.#pendingAsks.delete(m.id);
        return;
      default:
        return;
    }
  }

  #fromWorker(index: number, worker: Worker, m: GroupMessage): void {
    switch (m.pg) {
      case 'share':
        return this.#relayShared(m.topic, m.payload, index);
      case 'bcast':
        return this.#relayBroadcast(m.topic, m.payload, index);
      case 'ask':
        void this.#collect(m.topic, m.payload, m.timeoutMs, index).then((answers) => {
          this.#sendTo(worker, { pg: 'answers', id: m.id, answers });
        });
        return;
      case 'a': {
        const c = this.#collections.get(m.id);
        if (!c || !c.waiting.delete(index)) return;
        if (m.ok) c.answers.push([index, m.value]);
        if (c.waiting.size === 0) this.#finish(m.id);
        return;
      }
      default:
        return;
    }
  }

  #relayShared(topic: string, payload: unknown, from: number): void {
    this.#runShared(topic, payload);
    for (let i = 0; i < this.#workers.length; i++) {
      const w = this.#workers[i];
      if (w && i !== from) this.#sendTo(w, { pg: 'share', topic, payload });
    }
  }

  #relayBroadcast(topic: string, payload: unknown, from: number): void {
    for (let i = 0; i < this.#workers.length; i++) {
      const w = this.#workers[i];
      if (w && i !== from) this.#sendTo(w, { pg: 'bcast', topic, payload, from });
    }
    this.#runTopic(topic, payload, from);
  }

  /** Primary: asks every live worker but `except`; resolves with [index, answer] pairs. */
  #collect(topic: string, payload: unknown, timeoutMs: number, except: number): Promise<Array<[number, unknown]>> {
    return new Promise((resolve) => {
      const id = ++this.#seq;
      const waiting = new Set<number>();
      for (let i = 0; i < this.#workers.length; i++) {
        const w = this.#workers[i];
        if (w && i !== except && this.#sendTo(w, { pg: 'q', id, topic, payload })) waiting.add(i);
      }
      if (waiting.size === 0) return resolve([]);
      const timer = setTimeout(() => this.#finish(id), timeoutMs);
      this.#collections.set(id, { waiting, answers: [], timer, done: resolve });
    });
  }

  #finish(id: number): void {
    const c = this.#collections.get(id);
    if (!c) return;
    this.#collections.delete(id);
    clearTimeout(c.timer);
    c.done(c.answers);
  }
}
