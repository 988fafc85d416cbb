// The kubelet's entry point: flags as Kubernetes names them, the API
// connection, the Docker runtime, node registration and the pod lifecycle,
// and the HTTP API on --port.

import fs from 'node:fs';
import path from 'node:path';
import { EventRecorder } from '../client/events.js';
import { SharedInformerFactory } from '../client/informer.js';
import { connectionFromFlags } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { parseFlags } from '../lib/flags.js';
import { logger, setLogLevel } from '../lib/log.js';
import { collectDefaultMetrics } from '../lib/metrics.js';
import { Kubelet } from './kubelet.js';
import { NodeAgent } from './node.js';
import { DockerRuntime } from './runtime/docker.js';
import { createServer } from './server.js';

const log = logger('kubelet');

const flags = parseFlags(
  {
    kubeconfig: '',
    master: '',
    hostnameOverride: '',
    nodeIp: '127.0.0.1',
    containerRuntimeEndpoint: 'unix:///var/run/docker.sock',
    podInfraContainerImage: 'skiff/pause:3.10',
    maxPods: 110,
    port: 10250,
    address: '127.0.0.1',
    rootDir: '/var/lib/kubelet',
    cpu: '',
    memory: '',
    v: '',
  },
  process.argv.slice(2),
  'skiff kubelet: registers the node and runs its pods as Docker containers',
);
if (flags.v) setLogLevel(Number(flags.v) >= 4 ? 'debug' : 'info');

const nodeName = (flags.hostnameOverride || (await import('node:os')).hostname()).toLowerCase();
const rootDir = path.resolve(flags.rootDir);
fs.mkdirSync(rootDir, { recursive: true });

const client = new RestClient(connectionFromFlags(flags), { component: 'kubelet', maxSockets: 32 });
const runtime = new DockerRuntime(flags.containerRuntimeEndpoint);
const recorder = new EventRecorder(client, { component: 'kubelet', host: nodeName });
const kubelet = new Kubelet({ client, runtime, nodeName, nodeIP: flags.nodeIp, rootDir, podInfraImage: flags.podInfraContainerImage, recorder });
const node = new NodeAgent({ client, runtime, nodeName, nodeIP: flags.nodeIp, port: flags.port, rootDir, maxPods: flags.maxPods, cpu: flags.cpu || undefined, memory: flags.memory || undefined, recorder });

collectDefaultMetrics();
const server = createServer({ kubelet, runtime, nodeName });
server.listen(flags.port, flags.address);
server.on('error', (e) => {
  log.error('HTTP server failed', { error: e.message });
  process.exit(1);
});

await node.register();
node.start();
kubelet.start(new SharedInformerFactory(client));
log.info('kubelet started', { node: nodeName, port: flags.port, rootDir });

const shutdown = () => {
  // Pods keep running: a restarted kubelet adopts them.
  kubelet.stop();
  node.stop();
  server.close();
  client.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
