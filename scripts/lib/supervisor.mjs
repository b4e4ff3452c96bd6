// Keeps `wrangler dev` (and the workerd processes it runs) answering: the local runtime keeps memory
// per request and never gives it back, so a long run ends with workerd at V8's heap limit. State is
// on disk (.wrangler/state), so a restart loses nothing that was acknowledged.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quiet = /^\[wrangler:info\] GET \/health 200 /;

/** One GET of the health URL: 'ok', 'refused' (nobody listening: the runtime is gone) or 'failed'. */
export async function probe(url, timeoutMs) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok ? 'ok' : 'failed';
  } catch (err) {
    // localhost may resolve to ::1 and 127.0.0.1: both refusing comes as an AggregateError.
    const causes = err?.cause?.errors ?? [err?.cause];
    return causes.length > 0 && causes.every((c) => c?.code === 'ECONNREFUSED') ? 'refused' : 'failed';
  }
}

/** A TCP connect to host:port, closed at once: 'ok', 'refused' or 'failed'. Cheap, and not in wrangler's request log. */
export function connectProbe(url, timeoutMs) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    const done = (state) => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(timeoutMs, () => done('failed'));
    socket.once('connect', () => done('ok'));
    socket.once('error', (err) => done((err.errors ?? [err]).every((e) => e.code === 'ECONNREFUSED') ? 'refused' : 'failed'));
  });
}

/** Resident memory (MB) of each workerd process in a process group, from /proc (Linux; elsewhere empty). */
export function workerdRssMb(group) {
  const out = [];
  let pids;
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp … (the command may hold spaces).
      const [comm, rest] = [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), stat.slice(stat.lastIndexOf(')') + 2).split(' ')];
      if (Number(rest[2]) !== group || !comm.startsWith('workerd')) continue;
      const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
      out.push({ pid: Number(pid), mb: Math.round((pages * 4096) / 1e6) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Runs `command args` in its own process group and restarts the group when it exits, when its port
 * refuses connections (a TCP connect every `retryMs`: a dead workerd is seen within a second or two),
 * when its health URL fails `failures` checks in a row (checked every `intervalMs`; after a failure,
 * every `retryMs`), or when a workerd process passes `maxRssMb` (0: never).
 * Returns { ready, stop, kill, isUp }: `ready` settles once the first start answers (or fails to).
 */
export function supervise({ command, args, cwd, env, healthUrl, log, warn, intervalMs = 5_000, retryMs = 1_000, failures = 3, probeTimeoutMs = 10_000, startTimeoutMs = 120_000, maxRssMb = 0 }) {
  let child;
  let childExited;
  let stopping = false;
  let up = false;
  let restarts = 0;

  const killGroup = (sig) => {
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };

  const launch = () => {
    child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const mine = child;
    // wrangler's output, less its log line for each of our health checks (one every few seconds).
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!quiet.test(line)) console.log(line);
    });
    childExited = new Promise((resolve) => mine.once('exit', (code, signal) => resolve(signal ?? code)));
    return childExited;
  };

  /** Polls until the runtime answers, or it exits, or the time is up; true when it answers. */
  const waitUp = async (exited) => {
    let gone = false;
    exited.then(() => (gone = true));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && !gone && !stopping) {
      if ((await probe(healthUrl, probeTimeoutMs)) === 'ok') return true;
      await sleep(300);
    }
    return false;
  };

  /** Kills the whole group (wrangler, its workerd and esbuild children) and waits for wrangler to go. */
  const killAndWait = async () => {
    killGroup('SIGKILL');
    await Promise.race([childExited, sleep(5_000)]);
  };

  const restart = async (reason) => {
    up = false;
    restarts++;
    warn(`runtime ${reason}; restarting (state is kept on disk)`);
    await killAndWait();
    // Back off when it keeps failing: 0, 2, 5, 10, then 30 s between attempts.
    for (let attempt = 0; !stopping; attempt++) {
      await sleep([0, 2_000, 5_000, 10_000][attempt] ?? 30_000);
      if (stopping) return;
      const began = Date.now();
      const exited = launch();
      if (await waitUp(exited)) {
        up = true;
        log(`runtime is back after ${((Date.now() - began) / 1000).toFixed(1)} s (restart ${restarts})`);
        return;
      }
      if (stopping) return;
      warn(`runtime did not come back within ${startTimeoutMs / 1000} s; trying again`);
      await killAndWait();
    }
  };

  const watch = async () => {
    let failed = 0;
    let lastHttp = Date.now();
    while (!stopping) {
      const exited = await Promise.race([childExited.then((how) => ({ how })), sleep(retryMs).then(() => undefined)]);
      if (stopping) return;
      if (exited) {
        await restart(`exited (${exited.how})`);
        failed = 0;
        continue;
      }
      // Between the health checks, only a connect: it tells a dead runtime, not a hung one.
      const http = failed > 0 || Date.now() - lastHttp >= intervalMs;
      const state = http ? await probe(healthUrl, probeTimeoutMs) : await connectProbe(healthUrl, probeTimeoutMs);
      if (http) lastHttp = Date.now();
      if (stopping) return;
      if (!http && state !== 'refused') continue;
      // Refused means nobody listens on the port any more: confirmed once, a moment later, that is enough.
      const gone = state === 'refused' && (await sleep(200), await connectProbe(healthUrl, probeTimeoutMs)) === 'refused';
      if (stopping) return;
      failed = state === 'ok' ? 0 : gone ? failures : failed + 1;
      if (failed >= failures) {
        await restart(gone ? 'stopped answering (connection refused)' : 'stopped answering');
        failed = 0;
        lastHttp = Date.now();
        continue;
      }
      if (http && state === 'ok' && maxRssMb > 0) {
        const big = workerdRssMb(child.pid).find((p) => p.mb > maxRssMb);
        if (big) await restart(`uses ${big.mb} MB (workerd pid ${big.pid}, over EDGEPULSE_MAX_RSS_MB=${maxRssMb})`);
      }
    }
  };

  const ready = (async () => {
    const ok = await waitUp(launch());
    if (ok) {
      up = true;
      watch();
    }
    return ok;
  })();

  /** Ctrl-C: SIGINT to the whole group, SIGKILL after `graceMs`; resolves when wrangler has exited. */
  const stop = async (graceMs = 5_000) => {
    stopping = true;
    up = false;
    killGroup('SIGINT');
    const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
    await Promise.race([childExited, sleep(graceMs + 2_000)]);
    clearTimeout(timer);
    // wrangler gone: make sure nothing of its group (workerd, esbuild) stays behind.
    killGroup('SIGKILL');
  };

  /** At once and for good: SIGKILL to the whole group (start.mjs's fatal errors). */
  const kill = () => {
    stopping = true;
    killGroup('SIGKILL');
  };

  return { ready, stop, kill, isUp: () => up };
}
