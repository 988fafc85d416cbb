// What `skiff up`, `skiff down`, `skiff status` and the supervisor share: the
// state file under $SKIFF_HOME and the health check. Apart from cluster.ts so
// that the supervisor, which runs for the cluster's whole life, loads only
// this and supervisor.ts, not the modules that start a cluster (the kinds
// table, the REST client, the PKI, netns and join: ~15 MiB of its memory).

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

export interface ProcessRecord {
  name: string;
  pid: number;
  args: string[];
  log: string;
  /** URL whose 200 means healthy. */
  health?: string;
  /** /proc/<pid>/stat start time, so a reused pid is told from ours (proc.ts). */
  startTime?: string;
  /** Times the supervisor restarted it. */
  restarts: number;
  startedAt?: string;
  /** Set while it waits out its restart backoff. */
  nextStartAt?: string;
}

export interface ClusterState {
  name: string;
  apiserver: string;
  kubeconfig: string;
  nodes: string[];
  /** The process that starts and restarts the components; `skiff down` stops it first. */
  supervisor?: ProcessRecord;
  processes: ProcessRecord[];
  startedAt: string;
}

export function defaultHome(): string {
  return process.env.SKIFF_HOME || path.join(os.homedir(), '.skiff');
}

export function statePath(home: string): string {
  return path.join(home, 'state.json');
}

export function readState(home: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath(home), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** Write the whole state and rename it into place: a reader sees the old file or the new one, never half. */
export function writeState(home: string, st: ClusterState): void {
  fs.mkdirSync(home, { recursive: true });
  const tmp = `${statePath(home)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(st, null, 2));
  fs.renameSync(tmp, statePath(home));
}

/** GET url and say whether it answered 200: plain HTTP, or HTTPS verified against `ca` (health paths need no credentials). */
export function healthy(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const get = u.protocol === 'https:' ? https.get : http.get;
    const req = get(u, { ca, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
