// The local launcher's spawner: a small process of its own that forks and execs executors, so that fork/exec
// (1 ms on a quiet machine, 20-30 ms while hundreds of processes start) blocks this process's event loop and
// not the server's. Plain JavaScript with no imports beyond Node's: it starts in tens of milliseconds, from
// the sources as from the bundle (scripts/build-server.mjs copies it beside dist/server.mjs).
//
// Over the IPC channel (see spawner.ts): {spawn: id, file, args, cwd, env} → {spawned: id, pid} or
// {failed: id, error}; {go: id} writes the wrapper's go-ahead to its stdin; {exited: id, code, signal} when a
// child ends. When the server goes (the channel closes) this process exits; the executors are detached and
// run on, as they outlive the server itself.
import { spawn } from 'node:child_process';

const children = new Map();

function send(message) {
  if (process.connected) process.send(message, undefined, undefined, () => undefined);
}

process.on('message', (message) => {
  if (message.spawn !== undefined) {
    const id = message.spawn;
    let child;
    try {
      child = spawn(message.file, message.args, { cwd: message.cwd, env: message.env, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    } catch (error) {
      send({ failed: id, error: describe(error) });
      return;
    }
    let started = false;
    // A wrapper that died before reading its go-ahead makes the write fail with EPIPE: its end is reported anyway.
    child.stdin.on('error', () => undefined);
    child.once('spawn', () => {
      started = true;
      children.set(id, child);
      send({ spawned: id, pid: child.pid });
    });
    child.on('error', (error) => {
      if (!started) send({ failed: id, error: describe(error) });
    });
    child.on('exit', (code, signal) => {
      children.delete(id);
      if (started) send({ exited: id, code, signal });
    });
  } else if (message.go !== undefined) {
    children.get(message.go)?.stdin.end('go\n');
  }
});

process.on('disconnect', () => process.exit(0));
// It is in the server's process group: a Ctrl-C or a SIGTERM to the group is the server's to act on, and this
// process goes when the server closes its channel (or dies).
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

function describe(error) {
  return { message: error?.message ?? String(error), code: error?.code, errno: error?.errno, syscall: error?.syscall, path: error?.path };
}
