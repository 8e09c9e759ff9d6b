import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Test servers must not outlive the test worker that started them. Vitest ends a fork worker with SIGTERM
 * (then SIGKILL), which runs no 'exit' handler, so cleanup inside the worker cannot be relied on. Instead the
 * kernel does it: `setpriv --pdeathsig` (Linux, util-linux) sets PR_SET_PDEATHSIG and execs the command in
 * the same process, so the child gets `signal` the moment this process dies, however it dies. The child keeps
 * its pid, so `kill`, `exitCode` and 'exit' mean the server itself.
 *
 * Without setpriv (not Linux), a watchdog shell polls this process once a second and signals the child when
 * it is gone; it ends by itself when the child does.
 */
export function spawnTethered(command: string, args: readonly string[], options: SpawnOptions, signal: NodeJS.Signals): ChildProcess {
  if (hasSetpriv()) return spawn('setpriv', ['--pdeathsig', signal.replace(/^SIG/, ''), '--', command, ...args], options);
  const child = spawn(command, args, options);
  if (child.pid !== undefined) watch(child.pid, signal);
  return child;
}

let setpriv: boolean | undefined;

function hasSetpriv(): boolean {
  setpriv ??= spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0;
  return setpriv;
}

function watch(pid: number, signal: NodeJS.Signals): void {
  const script = 'while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 1; done; kill -s "$3" "$2" 2>/dev/null';
  // Detached: in its own process group, so a Ctrl-C or a group kill aimed at the test run does not take it first.
  spawn('sh', ['-c', script, 'sh', String(process.pid), String(pid), signal.replace(/^SIG/, '')], { detached: true, stdio: 'ignore' }).unref();
}
