// Whether a recorded pid is still the process Skiff started. A pid outlives
// its process: after a crash or a reboot the number in state.json can belong
// to anything, and `skiff down` must not signal a stranger. Linux's
// /proc/<pid>/stat gives the process's start time (clock ticks since boot),
// which two processes holding the same pid never share; a record without one
// (written before this check existed) is compared by its command line.

import fs from 'node:fs';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stat(pid: number, procRoot: string): string[] | undefined {
  try {
    const s = fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    // comm (field 2) is parenthesised and may hold spaces or ')': the fields after it start past the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).trim().split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat, the start time in clock ticks since boot; undefined when there is no such process. */
export function procStartTime(pid: number, procRoot = '/proc'): string | undefined {
  // The fields after comm begin with field 3 (state), so field 22 is index 19.
  return stat(pid, procRoot)?.[19];
}

export interface ProcessIdentity { pid: number; startTime?: string; args?: string[] }

/**
 * 'same': pid is still the process the record describes; 'gone': no process
 * (or only a zombie) has that pid; 'reused': another process has it now.
 */
export function processIdentity(rec: ProcessIdentity, procRoot = '/proc'): 'same' | 'gone' | 'reused' {
  const fields = stat(rec.pid, procRoot);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return 'gone';
  if (rec.startTime) return fields[19] === rec.startTime ? 'same' : 'reused';
  if (rec.args?.length) {
    let cmdline: string[];
    try {
      cmdline = fs.readFileSync(`${procRoot}/${rec.pid}/cmdline`, 'utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
    } catch {
      return 'gone';
    }
    return cmdline.length === rec.args.length && cmdline.every((a, i) => a === rec.args![i]) ? 'same' : 'reused';
  }
  // Nothing to compare: the record predates both checks; trust the pid as before.
  return 'same';
}
