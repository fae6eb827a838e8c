// Shared helpers for the benchmark processes: a cross-process clock, the payload format, a
// latency histogram that merges across processes, and /proc readers for CPU and memory.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * Microseconds on CLOCK_MONOTONIC (what process.hrtime reads on Linux). Unlike Date.now() or
 * performance.now(), this clock is the same in every process on the machine and never jumps, so a
 * timestamp taken by the publisher can be subtracted from one taken by a load generator.
 */
export function nowUs() {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves at the given nowUs() instant (drift-free scheduling: targets are absolute). */
export function sleepUntil(targetUs) {
  return sleep(Math.max(0, (targetUs - nowUs()) / 1000));
}

// ---------------------------------------------------------------------------------------------
// Payload: {"ts":<send time, integer µs>,"seq":<n>,"pad":"xx…"}, padded to PAYLOAD_BYTES. The
// subscriber finds the timestamp by scanning for TS_MARKER, so it works whatever envelope a server
// wraps the payload in (Herald: {"push":"pub","channel":…,"pub":{"data":<payload>}}) and however
// many publications it joins into one WebSocket message.
// ---------------------------------------------------------------------------------------------

export const PAYLOAD_BYTES = 100;
export const TS_MARKER = Buffer.from('"ts":');
export const SEQ_MARKER = Buffer.from('"seq":');

/** The payload JSON for publication `seq`, stamped with send time `ts` (integer µs). */
export function makePayload(seq, ts) {
  const head = `{"ts":${ts},"seq":${seq},"pad":"`;
  return head + 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length - 2)) + '"}';
}

/** Reads the unsigned decimal integer starting at buf[pos] (stops at the first non-digit). */
export function readUint(buf, pos) {
  let v = 0;
  for (let c = buf[pos]; c >= 48 && c <= 57; c = buf[++pos]) v = v * 10 + (c - 48);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Latency histogram. Fixed buckets: 10 µs wide up to 100 ms, 1 ms wide up to 10 s, then one
// overflow bucket. Cheap to record (one division), exact to merge (add counts), and fine enough
// for p99.9 at the latencies that matter here. Percentiles report the bucket's upper edge.
// ---------------------------------------------------------------------------------------------

const FINE_US = 10;
const FINE_BUCKETS = 10_000; // 0 .. 100 ms
const COARSE_US = 1000;
const COARSE_BUCKETS = 9_900; // 100 ms .. 10 s
const BUCKETS = FINE_BUCKETS + COARSE_BUCKETS + 1;
const FINE_LIMIT_US = FINE_US * FINE_BUCKETS;

export class Histogram {
  constructor() {
    this.counts = new Float64Array(BUCKETS);
    this.n = 0;
    this.max = 0;
  }

  record(us) {
    if (us < 0) us = 0;
    let i;
    if (us < FINE_LIMIT_US) i = Math.floor(us / FINE_US);
    else i = Math.min(BUCKETS - 1, FINE_BUCKETS + Math.floor((us - FINE_LIMIT_US) / COARSE_US));
    this.counts[i]++;
    this.n++;
    if (us > this.max) this.max = us;
  }

  /** Sparse form for IPC: [[bucket, count], …]. */
  toJSON() {
    const sparse = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) sparse.push([i, this.counts[i]]);
    return { n: this.n, max: this.max, sparse };
  }

  merge(json) {
    for (const [i, c] of json.sparse) this.counts[i] += c;
    this.n += json.n;
    if (json.max > this.max) this.max = json.max;
  }

  /** Latency (ms) at quantile q in [0, 1]: upper edge of the bucket holding that rank. */
  quantileMs(q) {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const upperUs =
          i < FINE_BUCKETS
            ? (i + 1) * FINE_US
            : i < BUCKETS - 1
              ? FINE_LIMIT_US + (i - FINE_BUCKETS + 1) * COARSE_US
              : this.max;
        return Math.min(upperUs, this.max) / 1000;
      }
    }
    return this.max / 1000;
  }
}

// ---------------------------------------------------------------------------------------------
// /proc readers (Linux only; the benchmark targets the Debian bench machine).
// ---------------------------------------------------------------------------------------------

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: 100 Hz is the Linux default.
}

/** CPU seconds (user + system, all threads) a process has used so far, or null if it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clkTck; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes (VmRSS), or null if it is gone. */
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Times (seconds) of one CPU core from /proc/stat: busy (everything but idle and iowait) and
 * softirq. On loopback the kernel's receive processing for the *client* sockets runs in softirq
 * on the sending (server) core and is not charged to the server process: busy − process CPU.
 */
export function coreSeconds(core) {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${core} `));
    const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return { busy: (user + nice + system + irq + softirq + steal) / clkTck, softirq: softirq / clkTck };
  } catch {
    return null;
  }
}

/**
 * TCP ports a process is listening on (from /proc/<pid>/fd and /proc/net/tcp{,6}). Lets the
 * benchmark find a server's port when its "listening" log line is filtered out by its log level.
 */
export function listeningPorts(pid) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port (hex), f[3] state (0A = LISTEN), f[9] inode
      if (f[3] === '0A' && inodes.has(f[9])) ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return [...ports];
}

/**
 * Bytes a process has read so far through read-like system calls, sockets included (`rchar` of
 * /proc/<pid>/io), or null if it is gone or not readable. The cluster benchmark uses it for what
 * a gateway receives (almost all of it Kafka fetch responses).
 */
export function readBytes(pid) {
  try {
    const m = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
