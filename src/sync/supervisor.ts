/**
 * Live update: the process of a container restarted in place. In `devloop dev` only, render wraps
 * the containers of artifacts with a `restart: true` sync rule: their command becomes the image's
 * `/bin/sh` (PID 1) running SUPERVISOR_SCRIPT, which runs the original command as its child,
 * forwards SIGTERM/SIGINT to it, and on SIGHUP stops it and runs it again (from the files just
 * copied in). A live update copies the files and then runs RESTART_SCRIPT in the same exec
 * (`liveUpdateCommand`): it sends the SIGHUP and waits until the new process listens on the
 * container's ports, or reports that it exited.
 *
 * The supervisor keeps its state in `/dev/shm/.devloop-supervisor-<container>` ("<generation>
 * running|exited <pid|code> <its own pid>": PID 1, except in pods that share one process namespace,
 * where PID 1 is the pod's pause process and must not get the signal): /dev/shm is a writable tmpfs in every Kubernetes container (also
 * with a read-only root file system), shared by the pod's containers, hence the container name.
 * Only shell builtins are used, plus `sleep` while waiting. (`wait … 2>/dev/null`: the shell's own
 * "Terminated" notice for the child stopped by a restart is not a line of the process.)
 */
import { DevloopError, firstLine } from '../errors.js';
import type { ExecResult, ExecTarget } from './exec.js';

/**
 * `$1`: the container name; the rest: the original command. A restart stops the process with SIGTERM,
 * and SIGKILL after DEVLOOP_RESTART_GRACE seconds (10) if it ignores that. The first run is the image's own: if it
 * exits, the supervisor exits too (the kubelet restarts the container and reports crashes as
 * always). A process started by a live update that exits leaves the container running, waiting
 * for the next live update, so a crashing build never sends the pod into CrashLoopBackOff.
 */
export const SUPERVISOR_SCRIPT = `f=/dev/shm/.devloop-supervisor-$1; shift
gen=0; pid=0; restart=0; stop=; code=0; killer=; grace=\${DEVLOOP_RESTART_GRACE:-10}
trap 'stop=TERM; [ "$pid" = 0 ] || kill -TERM "$pid" 2>/dev/null' TERM
trap 'stop=INT; [ "$pid" = 0 ] || kill -INT "$pid" 2>/dev/null' INT
trap 'restart=1; [ "$pid" = 0 ] || { kill -TERM "$pid" 2>/dev/null; (sleep "$grace"; kill -KILL "$pid" 2>/dev/null) & killer=$!; }' HUP
while [ -z "$stop" ]; do
  restart=0; gen=$((gen+1))
  "$@" & pid=$!
  echo "$gen running $pid $$" > "$f" 2>/dev/null
  while :; do wait "$pid" 2>/dev/null; code=$?; kill -0 "$pid" 2>/dev/null || break; done
  [ -z "$killer" ] || kill "$killer" 2>/dev/null; killer=
  pid=0
  [ -n "$stop" ] && exit "$code"
  [ "$restart" = 1 ] && continue
  echo "$gen exited $code $$" > "$f" 2>/dev/null
  [ "$gen" = 1 ] && exit "$code"
  echo "devloop: the process exited with code $code; the next live update starts it again" >&2
  while [ "$restart" = 0 ] && [ -z "$stop" ]; do sleep 3600 & pid=$!; wait "$pid" 2>/dev/null; pid=0; done
done
exit "$code"`;

/** `$0` of the supervisor: what `ps` shows in the container. */
export const SUPERVISOR_NAME = 'devloop-supervisor';

/**
 * `$1`: the container name; the rest: ports (4 hex digits, as in /proc/net/tcp). Sends SIGHUP to
 * the supervisor, waits for the next generation, then until every port has a listening socket
 * (none given: until it runs). Exit 3 (printing "exited <code>"): the new process exited.
 * Exit 2: no supervisor state (the container was not started by the supervisor).
 */
const RESTART_SCRIPT = `f=/dev/shm/.devloop-supervisor-$1; shift
read -r gen state code spid < "$f" 2>/dev/null || { echo "no supervisor state in $f" >&2; exit 2; }
kill -HUP "\${spid:-1}" || exit 2
listening() {
  for port in "$@"; do
    found=
    for table in /proc/net/tcp /proc/net/tcp6; do
      [ -r "$table" ] || continue
      while read -r sl local remote st rest; do
        case "$local" in *:"$port") [ "$st" = 0A ] && found=1 ;; esac
      done < "$table"
    done
    [ -n "$found" ] || return 1
  done
}
while :; do
  now=; state=; code=
  read -r now state code _ < "$f" 2>/dev/null
  if [ -n "$now" ] && [ "$now" != "$gen" ]; then
    [ "$state" = exited ] && { echo "exited $code"; exit 3; }
    [ "$state" = running ] && listening "$@" && exit 0
  fi
  sleep 0.02 2>/dev/null || sleep 1
done`;

/**
 * The script as written into a container's `command`: the kubelet expands `$(VAR)` there and turns
 * `$$` into `$`, so every `$` of the script is doubled (the original command is left as written:
 * its `$(VAR)` references expand as they would without devloop).
 */
const SUPERVISOR_COMMAND_SCRIPT = SUPERVISOR_SCRIPT.replaceAll('$', '$$$$');

/** What a supervised container runs: the supervisor, then the original command. */
export function supervisedCommand(container: string, argv: readonly string[]): string[] {
  return ['/bin/sh', '-c', SUPERVISOR_COMMAND_SCRIPT, SUPERVISOR_NAME, container, ...argv];
}

/** The original command of a supervised container (undefined when it is not supervised). */
export function unsupervisedCommand(command: readonly string[] | undefined): string[] | undefined {
  if (!command || command[0] !== '/bin/sh' || command[2] !== SUPERVISOR_COMMAND_SCRIPT || command[3] !== SUPERVISOR_NAME) return undefined;
  return command.slice(5);
}


/** A port as /proc/net/tcp writes it (upper-case hex, 4 digits). */
export function procPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

export interface RestartTarget extends ExecTarget {
  /** TCP ports the process must listen on again (the container's declared ports). */
  ports: number[];
}

export type RestartOutcome = { ok: true } | { ok: false; exitCode: number };

/** Printed by the live-update command once the files are in place, just before the restart. */
export const COPIED_LINE = 'devloop: copied';

/**
 * A live update's one exec per container: `step` (a shell command that puts the files in place),
 * then the restart. One exec, not a copy and then a restart: each exec costs a round trip through
 * the API server and the kubelet (~40 ms here). A failed step exits with its own status before
 * COPIED_LINE; after that line, the status is RESTART_SCRIPT's.
 */
export function liveUpdateCommand(step: string, target: RestartTarget): string[] {
  return ['/bin/sh', '-c', `${step} || exit; echo '${COPIED_LINE}'; ${RESTART_SCRIPT}`, 'devloop-live-update', target.container, ...target.ports.map(procPort)];
}

/** What the restart part of a live-update command (its stdout said COPIED_LINE) ended with. */
export function restartOutcome(result: ExecResult, target: RestartTarget): RestartOutcome {
  if (result.exitCode === 0) return { ok: true };
  const exited = /^exited (-?\d+)/m.exec(result.stdout);
  if (result.exitCode === 3 && exited) return { ok: false, exitCode: Number(exited[1]) };
  throw new DevloopError('SYNC_FAILED', `live update of ${target.pod}/${target.container}: restart failed: ${firstLine(result.stderr || result.message || `exit code ${result.exitCode}`)}`, {
    hint: 'the container was not started by devloop\'s supervisor (restarted outside devloop?); press r to rebuild and redeploy',
  });
}

/** The failure of a live update whose new process did not come up in time. */
export function restartTimeout(target: RestartTarget, timeoutMs: number, cause: unknown): DevloopError {
  const ports = target.ports.length ? `listen on port ${target.ports.join(', ')}` : 'start';
  return new DevloopError('RESTART_TIMEOUT', `live update of ${target.pod}/${target.container}: the new process did not ${ports} within ${timeoutMs / 1000}s`, {
    hint: 'its log lines are above; the next save restarts it again',
    cause,
  });
}
