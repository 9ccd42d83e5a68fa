/**
 * Micro-benchmark: RespDecoder.next() over a large pipelined buffer fed in 64 KiB
 * chunks, as a socket would deliver it. One scenario: `GET key:<n>` (2 arguments).
 * Prints `resp-decoder ops_per_sec=N` (median of 5 runs after a warm-up).
 * Time is this process's CPU time, so a busy machine skews it less.
 *
 *   node dist/loadtest/micro/resp-decoder.bench.js [SET]   # SET key:<n> <16-byte value>
 */
import { RespDecoder } from '../../shared/resp/decoder.js';

const COMMANDS = 200_000;
const CHUNK = 64 * 1024;
const RUNS = 5;
const scenario = process.argv[2] === 'SET' ? 'SET' : 'GET';

function buildInput(): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < COMMANDS; i++) {
    const key = `key:${i}`;
    parts.push(
      scenario === 'SET'
        ? `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$16\r\nvalue-0123456789\r\n`
        : `*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`,
    );
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/** Decodes the whole input once with a fresh decoder; returns the number of commands. */
function decodeAll(input: Buffer): number {
  return feedAndDrain(new RespDecoder(), input);
}

/** The timed loop: feed a socket-sized chunk, take every complete command, repeat. */
function feedAndDrain(decoder: RespDecoder, input: Buffer): number {
  let count = 0;
  for (let off = 0; off < input.length; off += CHUNK) {
    decoder.feed(input.subarray(off, Math.min(off + CHUNK, input.length)));
    while (decoder.next() !== null) count++;
  }
  return count;
}

const input = buildInput();
for (let i = 0; i < 5; i++) decodeAll(input); // warm-up
const rates: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const start = process.cpuUsage();
  const count = decodeAll(input);
  const used = process.cpuUsage(start);
  const ns = (used.user + used.system) * 1000;
  if (count !== COMMANDS) throw new Error(`decoded ${count} commands, expected ${COMMANDS}`);
  rates.push((count * 1e9) / ns);
}
rates.sort((a, b) => a - b);
const name = scenario === 'SET' ? 'resp-decoder-set' : 'resp-decoder';
console.log(`${name} ops_per_sec=${Math.round(rates[RUNS >> 1]!)}`);
