// CPU time of processes from /proc, for the benchmarks' CPU-per-operation
// figures: on a shared machine throughput moves with the neighbours' load,
// CPU per operation much less.

import fs from 'node:fs';

/** User plus system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number | undefined): number {
  return pid ? statCpuSeconds(`/proc/${pid}/stat`, false) : 0;
}

/** The same, with those of its children that have ended and been waited for (the kubelet runs ip and the like). */
export function cpuSecondsWithChildren(pid: number | undefined): number {
  return pid ? statCpuSeconds(`/proc/${pid}/stat`, true) : 0;
}

/** The same for one thread: a process's main thread has the process's id. */
export function threadCpuSeconds(pid: number, tid = pid): number {
  return statCpuSeconds(`/proc/${pid}/task/${tid}/stat`, false);
}

function statCpuSeconds(file: string, children: boolean): number {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line,
    // cutime and cstime (ended children) the 16th and 17th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11]! + f[12]! + (children ? f[13]! + f[14]! : 0)) / 100;
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
