// Preloaded (`node --import`) into every service the local stack runs. The runner holds the other end of the
// service's stdin and never writes to it: when the runner dies in any way (SIGKILL, a closed terminal, a
// crash), the kernel closes that end, stdin ends here, and the service stops: SIGTERM to itself (its own
// graceful shutdown), and SIGKILL after STOP_GRACE_MS from a separate watchdog process (a service whose
// stdout is a broken pipe can block its own main thread, timers included). Needs no cooperation from the runner.
import { spawn } from 'node:child_process';

const STOP_GRACE_MS = 3000;

let stopping = false;
function runnerGone(): void {
  if (stopping) return;
  stopping = true;
  try {
    const seconds = String(STOP_GRACE_MS / 1000);
    spawn('sh', ['-c', `sleep ${seconds}; kill -KILL ${process.pid} 2>/dev/null`], {
      detached: true,
      stdio: 'ignore',
    }).unref();
  } catch {
    process.kill(process.pid, 'SIGKILL');
  }
  process.kill(process.pid, 'SIGTERM');
}

process.stdin.on('end', runnerGone);
process.stdin.on('close', runnerGone);
process.stdin.on('error', runnerGone);
process.stdin.resume();
// stdin must not keep the service alive on its own
(process.stdin as unknown as { unref?: () => void }).unref?.();
