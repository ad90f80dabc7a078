/**
 * Runs one bench task in its own Node process, so its time and peak memory are its own and an
 * out-of-memory or a hung query stops that task only. The child receives `{ kind: 'task', task }`
 * as its first IPC message, streams progress messages back (kept even when it is killed later) and
 * ends with one `{ kind: 'done' }` message.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { oneLine } from './format.js';
import { hwm, treeOf } from './proc.js';

export interface ChildOutcome<M> {
  /** Every message the child sent, in order (the last is `done` when it finished). */
  messages: M[];
  /** Why the child did not finish: time limit, out of memory, crash. */
  failure?: string;
  /** It was stopped by the idle limit (one step took too long), not the overall time limit. */
  idle?: boolean;
  wallMs: number;
  /**
   * Peak RSS of the child and of any process it started (e.g. a JVM): the highest VmHWM seen in
   * /proc for any process of its tree, sampled every 100 ms; 0 where /proc is not available.
   */
  treePeakRss: number;
}

export function runChild<M extends { kind: string }>(
  script: string,
  task: unknown,
  /**
   * idle: after the first message of kind `after`, stop the child when `ms` pass without a message
   * (one slow step, e.g. one query, must not use up the whole time limit).
   */
  opts: { timeoutMs: number; execArgv?: string[]; onMessage?: (m: M) => void; idle?: { after: string; ms: number } },
): Promise<ChildOutcome<M>> {
  return new Promise((resolve) => {
    const t = performance.now();
    // The task goes over IPC: a batch of query texts can exceed the size limit of a command line.
    const child = fork(script, [], { execArgv: opts.execArgv ?? [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.send({ kind: 'task', task });
    const peaks = new Map<number, number>();
    const sampleTree = () => {
      if (child.pid !== undefined) for (const pid of treeOf(child.pid)) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, hwm(pid)));
    };
    const sampler = setInterval(sampleTree, 100);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    const messages: M[] = [];
    let timedOut = false;
    let idleOut = false;
    const stop = () => {
      sampleTree();
      // The whole tree: a JVM the child started must not outlive it.
      if (child.pid !== undefined) for (const pid of treeOf(child.pid).reverse()) killQuietly(pid);
    };
    let idleTimer: NodeJS.Timeout | undefined;
    let watching = false;
    child.on('message', (m) => {
      messages.push(m as M);
      opts.onMessage?.(m as M);
      if (opts.idle && (watching || (m as M).kind === opts.idle.after)) {
        watching = true;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          idleOut = true;
          stop();
        }, opts.idle.ms);
      }
    });
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(idleTimer);
      clearInterval(sampler);
      const wallMs = performance.now() - t;
      const treePeakRss = Math.max(0, ...peaks.values());
      const done = messages.some((m) => m.kind === 'done');
      let failure: string | undefined;
      if (idleOut) failure = `stopped: no progress for ${Math.round(opts.idle!.ms / 1000)} s`;
      else if (timedOut) failure = `stopped at its ${Math.round(opts.timeoutMs / 1000)} s time budget`;
      else if (/heap out of memory|Allocation failed|RangeError: WebAssembly|memory access out of bounds|unreachable/i.test(stderr)) failure = `ran out of memory (${oneLine(lastLine(stderr), 160)})`;
      else if (!done) failure = `crashed (${signal ?? `exit code ${code}`})${stderr ? `: ${oneLine(stderr).slice(-200)}` : ''}`;
      resolve({ messages, ...(failure ? { failure } : {}), ...(idleOut ? { idle: true } : {}), wallMs, treePeakRss });
    });
  });
}

function lastLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  return lines.at(-1) ?? s;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
