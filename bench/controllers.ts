// ReplicaSet scale-up throughput: the compiled controller-manager scales a
// ReplicaSet from 0 to --pods, against the raw limit measured in the same run
// on the same API server: a client creating the same pods directly, at the
// concurrency the controller's largest slow-start batch reaches.
//   node dist/bench/controllers.js [--pods=5000] [--timeout=300s]

import { R } from '../api/resources.js';
import type { Pod, ReplicaSet } from '../api/types.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { startApiServer } from '../test/util/apiserver.js';
import { startControllerManager } from '../test/controllers/harness.js';

const flags = parseFlags({ pods: 5000, concurrency: 500, timeout: '300s' }, process.argv.slice(2), 'controller-manager ReplicaSet scale-up benchmark');
const deadline = Date.now() + parseDuration(flags.timeout);

const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image: 'busybox:latest', command: ['sleep', '3600'] }] } });

const srv = await startApiServer();
const client = new RestClient(srv.admin, { component: 'bench', maxSockets: 64 });
let cm: Awaited<ReturnType<typeof startControllerManager>> | undefined;
try {
  for (const name of ['bench-raw', 'bench']) await client.resource(R.namespaces).create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

  // The raw limit: the same pod creates straight from a client.
  const raw = client.resource<Pod>(R.pods, 'bench-raw');
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(flags.concurrency, flags.pods) }, async () => {
    while (next < flags.pods && Date.now() < deadline) {
      const i = next++;
      await raw.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `raw-${i}`, namespace: 'bench-raw', labels: { app: 'raw' } }, spec: template('raw').spec });
    }
  }));
  const rawRate = next / ((performance.now() - t0) / 1000);

  cm = await startControllerManager(srv.url, ['--controllers=replicaset-controller', '--leader-elect=false']);
  const rss = client.resource<ReplicaSet>(R.replicasets, 'bench');
  await rss.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'big', namespace: 'bench' }, spec: { replicas: 0, selector: { matchLabels: { app: 'big' } }, template: template('big') } });
  let created = 0;
  let lastCreate = 0;
  const w = client.resource<Pod>(R.pods, 'bench').watch({ labelSelector: 'app=big' }, (e) => {
    if (e.type !== 'ADDED') return;
    created++;
    lastCreate = performance.now();
  });
  const fresh = await rss.get('big');
  const start = performance.now();
  await rss.update({ ...fresh, spec: { ...fresh.spec, replicas: flags.pods } });
  let done = false;
  while (Date.now() < deadline) {
    if ((await rss.get('big')).status?.replicas === flags.pods) {
      done = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const statusSeconds = (performance.now() - start) / 1000;
  w.stop();
  await w.done.catch(() => {});
  const rate = created / ((lastCreate - start) / 1000);
  console.log(`raw client creates:         ${rawRate.toFixed(0)} pods/s (${next} at concurrency ${flags.concurrency})`);
  console.log(`controller-manager creates: ${rate.toFixed(0)} pods/s (${created} pods)`);
  console.log(`ratio:                      ${(rate / rawRate).toFixed(2)}`);
  if (!done) console.log(`controller-manager log tail:\n${cm.logs().split('\n').slice(-25).join('\n')}`);
  console.log(done ? `status.replicas == ${flags.pods} after ${statusSeconds.toFixed(1)} s` : `gave up after ${statusSeconds.toFixed(1)} s with ${created} pods`);
} finally {
  await cm?.stop();
  await srv.stop();
}
