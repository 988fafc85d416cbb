// CPU time of processes from /proc, for the benchmarks' CPU-per-operation
// figures: on a shared machine throughput moves with the neighbours' load,
// CPU per operation much less.

import fs from 'node:fs';

/** User plus system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number | undefined): number {
  return pid ? statCpuSeconds(`/proc/${pid}/stat`) : 0;
}

/** The same for one thread: a process's main thread has the process's id. */
export function threadCpuSeconds(pid: number, tid = pid): number {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
}

function statCpuSeconds(file: string): number {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A process and its descendants (the API server's workers). */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // The process is gone.
  }
  return [pid, ...children.flatMap(processTree)];
}

/** CPU seconds of a process tree; a descendant that exits during a run takes its share with it, so the figure stays a lower bound. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);
}
