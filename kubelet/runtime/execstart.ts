// A command an exec could not start (no such binary, not executable): the
// Docker engine writes runc's error onto the exec's output and reports exit
// code 126, as a shell would, but containerd's CRI, which kube's kubelet execs
// through, fails the exec itself, so kube answers with an error Status
// ("error executing command in container: failed to exec in container: ...")
// and kubectl exits 1 printing it, not "command terminated with exit code 126".
// The engine's exec inspect tells the two apart: a process that never started
// has no pid.

import { PassThrough } from 'node:stream';
import type { ExecSession } from './interface.js';

/** What the engine writes in place of output when the runtime could not start the process (runc's wording, through containerd or dockerd). */
const START_ERROR = /^OCI runtime (exec failed|error)/;

export class ExecStartError extends Error {}

/**
 * The session with such a failure taken out of its output and turned into a
 * rejected exitCode with the runtime's message, worded as containerd's CRI
 * words it. startedPid says whether the process ever ran (0 when it did not).
 */
export function withStartFailure(session: ExecSession, execId: string, startedPid: () => Promise<number | undefined>): ExecSession {
  const out = new PassThrough();
  let first = true;
  let held: Buffer | undefined;
  session.stdout.on('data', (d: Buffer) => {
    // Only the very first write can be the engine's: it comes instead of any output.
    if (first && START_ERROR.test(d.toString('latin1'))) held = d;
    else {
      // More output: the process did run, and the words were its own.
      if (held) out.write(held);
      held = undefined;
      out.write(d);
    }
    first = false;
  });
  const ended = new Promise<void>((resolve) => {
    session.stdout.once('end', resolve);
    session.stdout.once('close', resolve);
  });
  const exitCode = session.exitCode.then(async (code) => {
    await ended;
    if (held && (await startedPid().catch(() => undefined)) === 0) {
      out.end();
      throw new ExecStartError(`failed to exec in container: failed to start exec ${JSON.stringify(execId)}: ${held.toString('utf8').trim()}`);
    }
    if (held) out.write(held);
    out.end();
    return code;
  });
  // The caller awaits it; a rejection nobody reads must not crash the process meanwhile.
  exitCode.catch(() => {});
  return { ...session, stdout: out, exitCode };
}
