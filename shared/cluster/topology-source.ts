/**
 * TopologySource: how a process that does not write the topology (proxy, shard, CLI)
 * reads it and follows its changes. Embedded mode reads the manager's JSON file
 * (FileTopologySource); cluster mode watches a key in etcd (manager/etcd-store.ts).
 *
 * `current` is the newest topology seen; listeners run after it changed, once per
 * new epoch (a rewrite with the same epoch, e.g. a process list update, is reported
 * too: `epochChanged` tells which).
 */
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Topology } from './topology.js';

export type TopologyListener = (topology: Topology, epochChanged: boolean) => void;

export interface TopologySource {
  readonly current: Topology;
  onChange(listener: TopologyListener): void;
  close(): void;
}

/**
 * Poll period of the file's mtime, beside fs.watch on its directory (the manager
 * replaces the file by rename, which some file systems report late or not at all).
 * Well inside the 100 ms within which a topology change must be visible.
 */
const POLL_MS = 25;

export class FileTopologySource implements TopologySource {
  #current: Topology;
  #mtime = 0;
  #listeners: TopologyListener[] = [];
  readonly #watcher: FSWatcher | null;
  readonly #timer: NodeJS.Timeout;

  constructor(readonly file: string) {
    this.#current = this.#read() ?? (() => { throw new Error(`cannot read topology file ${file}`); })();
    let w: FSWatcher | null = null;
    try {
      w = watch(dirname(file), (_e, name) => {
        if (name === null || name === basename(file)) this.#check();
      });
      w.on('error', () => {});
      w.unref();
    } catch {
      w = null; // polling alone still follows changes
    }
    this.#watcher = w;
    this.#timer = setInterval(() => this.#check(), POLL_MS);
    this.#timer.unref();
  }

  get current(): Topology {
    return this.#current;
  }

  onChange(listener: TopologyListener): void {
    this.#listeners.push(listener);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watcher?.close();
  }

  /** Re-reads the file when its mtime moved; a half-visible or unparsable file is skipped until the next check. */
  #check(): void {
    let m: number;
    try {
      m = statSync(this.file).mtimeMs;
    } catch {
      return;
    }
    if (m === this.#mtime) return;
    const t = this.#read();
    if (t === null) return;
    const prev = this.#current;
    if (t.epoch < prev.epoch) return; // never go back in time
    this.#current = t;
    const changed = t.epoch !== prev.epoch;
    if (!changed && JSON.stringify(t) === JSON.stringify(prev)) return;
    for (const l of this.#listeners) l(t, changed);
  }

  #read(): Topology | null {
    try {
      const st = statSync(this.file);
      const t = JSON.parse(readFileSync(this.file, 'utf8')) as Topology;
      if (typeof t.epoch !== 'number' || !Array.isArray(t.workers)) return null;
      this.#mtime = st.mtimeMs;
      return t;
    } catch {
      return null;
    }
  }
}
