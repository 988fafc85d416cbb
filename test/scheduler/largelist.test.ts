// A backlog bigger than gRPC's default 4 MiB message: the scheduler's initial
// list of pending pods must still sync and every pod get bound. (grpc-js's
// default receive limit once made the API server's etcd range fail with
// RESOURCE_EXHAUSTED, so the scheduler retried its list forever.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { R } from '../../api/resources.js';
import type { Node, Pod } from '../../api/types.js';
import { RestClient } from '../../client/rest.js';
import { startApiServer } from '../util/apiserver.js';
import { waitFor } from '../util/ports.js';
import { startScheduler, type SchedulerProcess } from './process.js';

const PODS = 320;
/** 320 pods of ~16 KiB: about 5 MiB in one etcd range. */
const PADDING = 'x'.repeat(16 * 1024);

describe('scheduler with a backlog over 4 MiB', () => {
  let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
  let sched: SchedulerProcess | undefined;
  let client: RestClient;

  beforeAll(async () => {
    api = await startApiServer();
    client = new RestClient(api.admin);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (let n = 0; n < 4; n++) {
      const created = await client.resource<Node>(R.nodes).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}` }, spec: {} });
      const resources = { cpu: '4', memory: '16Gi', pods: '110' };
      await client.resource<Node>(R.nodes).updateStatus({
        ...created,
        status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] },
      });
    }
    const pods = client.resource<Pod>(R.pods, 'default');
    for (let i = 0; i < PODS; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => pods.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `big-${i + j}`, namespace: 'default', annotations: { padding: PADDING } },
        spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      })));
    }
  }, 120_000);

  afterAll(async () => {
    await sched?.stop();
    await api?.stop();
  }, 30_000);

  it('syncs its informers and binds every pending pod', async () => {
    sched = await startScheduler(api!.url, ['--leader-elect=false']);
    const s = sched;
    let unbound = PODS;
    await waitFor('every pod bound', async () => {
      unbound = (await client.resource<Pod>(R.pods, 'default').list({ fieldSelector: 'spec.nodeName=' })).items.length;
      return unbound === 0;
    }, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${unbound} unbound; scheduler log:\n${s.logs()}`);
    });
    const all = (await client.resource<Pod>(R.pods, 'default').list()).items;
    expect(all).toHaveLength(PODS);
    expect(new Set(all.map((p) => p.spec.nodeName)).size).toBe(4);
  }, 90_000);
});
