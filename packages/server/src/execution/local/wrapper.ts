/**
 * What runs around each executor's command: the OS writes stdout and stderr straight to files (no per-line
 * work in the shell), and the exit code is recorded in a file even when the server is down. The file is written
 * in place by the shell's own printf (one write of a few bytes, no `mv` process per executor); readers count it
 * only once it ends in a newline (readExitFile), so a file caught half-written reads as not yet recorded. The three paths and then the command's argv arrive as positional parameters, never spliced into the
 * script.
 *
 * The wrapper traps TERM/INT/HUP (not ignore: ignored signals would be inherited by the command) so that a
 * cancel, sent to the whole process group, stops the command while the wrapper survives to record how it ended.
 * A signal that comes before the command has started (it interrupts the wait for the go-ahead below) means the
 * command never starts: the wrapper records 143 and leaves. Before, the interrupted read let the command start
 * at once, outside its cgroup and deaf to the cancel already sent, so the cancel waited out its grace period.
 * dash keeps a finished child as a zombie until `wait`, so the loop collects the real status.
 *
 * Before it starts the command the wrapper waits for one line on stdin: the launcher sends it once the wrapper
 * is in the executor's cgroup, so every process of the command is born inside it. End of input (the server died
 * first, or stdin is /dev/null) lets it go on just the same; then stdin is let go so nothing holds the pipe.
 */
export const WRAPPER_SCRIPT = [
  'stop=',
  'trap stop=1 TERM INT HUP',
  'read -r _ || :',
  'exec </dev/null',
  'out=$1 err=$2 status=$3',
  'shift 3',
  'if [ -n "$stop" ]; then printf "143\\n" >"$status"; exit 143; fi',
  '"$@" >>"$out" 2>>"$err" </dev/null &',
  'child=$!',
  'wait "$child"; code=$?',
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done',
  'printf "%s\\n" "$code" >"$status"',
  'exit "$code"',
].join('\n');

/** The user's command, run by the shell as given (by design). */
export function shellCommand(cmd: string): string[] {
  return ['/bin/sh', '-c', cmd];
}

/** argv[0] of the wrapper; recovery checks it in /proc/<pid>/cmdline before trusting a recorded pid. */
export const WRAPPER_ARGV0 = 'periscope-executor';
