// The `skiff` command's commands (cli/main.ts dispatches): `skiff up` starts a
// local cluster in the background under a supervisor that restarts what
// exits, `skiff down` stops it, `skiff status` shows its components, their
// restarts and the nodes.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKubeconfig } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';
import { parseDuration, parseFlags } from '../lib/flags.js';
import { createToken, defaultTokenGroups, deleteToken, listTokens, type TokenRow } from './token.js';
import { LocalCluster, defaultClusterCidr, defaultHome, defaultLanCidr, down, readState, status } from './cluster.js';
import { defaultNodeMode, type NodeMode } from './netns.js';
import { processIdentity } from './proc.js';
import { isWorkerHome, joinCommand, joinMain, leave } from './join.js';

const usage = `Usage: skiff <command> [flags]

Commands:
  up       start etcd, the API server, the scheduler, the controller-manager and, per node, a kubelet and kube-proxy
  down     stop everything 'skiff up' started and remove its pods' containers
  status   show the components (with their restarts) and nodes
  token create [--ttl 24h] [--description D] [--groups G,...] [--token T]
           a bootstrap token for joining nodes (kubeadm's token create)
  token list
  token delete <id|token>
  join <server-url> --token <id.secret> --ca-cert-hash sha256:<hex> [--node-name N] [--node-ip IP]
           make this machine a node of that cluster (kubeadm's join; skiff join --help)
  leave    stop and clean this machine's node (also 'skiff down' on a worker)

Flags of up: --nodes N, --name, --apiserver-port, --etcd-port, --service-cluster-ip-range,
  --proxy-mode, --node-cpu, --node-memory, --log-format text|json (every component's),
  --node-mode netns|shared (netns, the default for more than one node: each node in a network namespace
  with its own Docker engine and address on a private LAN), --lan-cidr (10.250.0.0/24), --cluster-cidr (10.244.0.0/16).
The state directory is --home, else $SKIFF_HOME (default ~/.skiff).`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function main(): Promise<number> {
  // join and leave take their own flags (cli/join.ts).
  if (process.argv[2] === 'join' || process.argv[2] === 'leave') return joinMain(process.argv.slice(2), defaultHome());
  const flags = parseFlags({
    nodes: 1,
    name: 'skiff',
    apiserverPort: 6443,
    etcdPort: 2379,
    serviceClusterIpRange: '10.96.0.0/12',
    proxyMode: '',
    nodeCpu: '',
    nodeMemory: '',
    logFormat: 'text',
    nodeMode: '',
    // The address workers reach the API server on; `skiff up` then prints the join command.
    advertiseAddress: '',
    lanCidr: defaultLanCidr,
    clusterCidr: defaultClusterCidr,
    home: '',
    // skiff token create
    ttl: '24h',
    description: '',
    groups: [...defaultTokenGroups],
    token: '',
  }, process.argv.slice(2), usage);
  const [command] = flags._;
  const home = flags.home || defaultHome();
  const log = (l: string) => process.stdout.write(`skiff: ${l}\n`);

  switch (command) {
    case 'up': {
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json') {
        log(`--log-format must be text or json, not "${flags.logFormat}"`);
        return 1;
      }
      const nodeMode = (flags.nodeMode || defaultNodeMode(flags.nodes)) as NodeMode;
      if (nodeMode !== 'netns' && nodeMode !== 'shared') {
        log(`--node-mode must be netns or shared, not "${flags.nodeMode}"`);
        return 1;
      }
      const running = readState(home);
      if (running && [...(running.supervisor ? [running.supervisor] : []), ...running.processes].some((p) => processIdentity(p) === 'same')) {
        log(`a cluster is already running from ${home} (API server ${running.apiserver}); 'skiff down' stops it, or set SKIFF_HOME and other ports for a second one`);
        return 1;
      }
      // Docker and the locally built images (busybox, pause) the pods need.
      execFileSync('bash', [path.join(repoRoot, 'hack', 'images.sh')], { stdio: 'inherit' });
      const cluster = new LocalCluster({
        home,
        name: flags.name,
        nodes: flags.nodes,
        apiserverPort: flags.apiserverPort,
        etcdPort: flags.etcdPort,
        serviceClusterIpRange: flags.serviceClusterIpRange,
        proxyMode: flags.proxyMode as 'iptables' | 'userspace' | '',
        nodeCpu: flags.nodeCpu || undefined,
        nodeMemory: flags.nodeMemory || undefined,
        logFormat: flags.logFormat,
        nodeMode,
        advertiseAddress: flags.advertiseAddress || undefined,
        lanCidr: flags.lanCidr,
        clusterCidr: flags.clusterCidr,
        log,
      });
      try {
        const st = await cluster.up();
        process.stdout.write(`
Skiff is running: API server ${st.apiserver}, ${st.nodes.length} node(s), logs in ${path.join(home, 'logs')}.

  export KUBECONFIG=${st.kubeconfig}
  kubectl get nodes
  kubectl apply -f ${path.join(repoRoot, 'manifests')}/web.yaml

Stop it with: skiff down   (or npm run down)
`);
        if (flags.advertiseAddress) {
          // kubeadm init's closing words: a 24h token and the CA's hash, for each worker.
          const client = new RestClient(loadKubeconfig(st.kubeconfig), { component: 'skiff' });
          try {
            const ca = fs.readFileSync(path.join(home, 'pki', 'ca.crt'), 'utf8');
            process.stdout.write(`\nOn each worker (ports to open: README "Multi-node on VMs"), as root:\n\n  ${await joinCommand(client, `https://${flags.advertiseAddress}:${flags.apiserverPort}`, ca)}\n\nThe token expires in 24h; 'skiff token create' makes another.\n`);
          } finally {
            client.close();
          }
        }
        return 0;
      } catch (e) {
        log(`start-up failed: ${(e as Error).message}`);
        log('stopping what was started');
        await down(home, log);
        return 1;
      }
    }
    case 'down': {
      if (isWorkerHome(home)) await leave(home, log);
      else if (!(await down(home, log))) log(`no cluster recorded in ${home}`);
      else log('stopped');
      return 0;
    }
    case 'status': {
      const s = await status(home);
      if (!s) {
        log(`no cluster recorded in ${home}`);
        return 1;
      }
      process.stdout.write(`cluster ${s.state.name}: API server ${s.state.apiserver}, kubeconfig ${s.state.kubeconfig}\n\nCOMPONENT${' '.repeat(31)}PID      STATE      RESTARTS\n`);
      for (const c of s.components) {
        const state = c.restarting ? 'restarting' : !c.running ? 'stopped' : c.healthy === false ? 'unhealthy' : 'running';
        process.stdout.write(`${c.name.padEnd(40)}${String(c.pid).padEnd(9)}${state.padEnd(11)}${c.restarts}\n`);
      }
      process.stdout.write(`\nNODE${' '.repeat(36)}READY\n`);
      for (const n of s.nodes) process.stdout.write(`${n.name.padEnd(40)}${n.ready}\n`);
      return s.components.every((c) => c.running) ? 0 : 1;
    }
    case 'token': {
      const st = readState(home);
      if (!st) {
        log(`no cluster recorded in ${home}`);
        return 1;
      }
      const client = new RestClient(loadKubeconfig(st.kubeconfig), { component: 'skiff' });
      try {
        const [, sub, arg] = flags._;
        if (sub === 'create') {
          process.stdout.write(`${await createToken(client, { ttlSeconds: parseDuration(flags.ttl) / 1000, description: flags.description || undefined, groups: flags.groups, token: flags.token || undefined })}\n`);
          return 0;
        }
        if (sub === 'list') {
          const rows = await listTokens(client);
          const cols: [string, keyof TokenRow][] = [['TOKEN', 'token'], ['TTL', 'ttl'], ['EXPIRES', 'expires'], ['USAGES', 'usages'], ['DESCRIPTION', 'description'], ['EXTRA GROUPS', 'groups']];
          const widths = cols.map(([h, k]) => Math.max(h.length, ...rows.map((r) => r[k].length)) + 3);
          process.stdout.write(cols.map(([h], i) => h.padEnd(widths[i])).join('').trimEnd() + '\n');
          for (const r of rows) process.stdout.write(cols.map(([, k], i) => r[k].padEnd(widths[i])).join('').trimEnd() + '\n');
          return 0;
        }
        if (sub === 'delete' && arg) {
          if (!(await deleteToken(client, arg))) {
            log(`bootstrap token "${arg.split('.')[0]}" not found`);
            return 1;
          }
          process.stdout.write(`bootstrap token "${arg.split('.')[0]}" deleted\n`);
          return 0;
        }
        process.stdout.write(usage + '\n');
        return 1;
      } finally {
        client.close();
      }
    }
    default:
      process.stdout.write(usage + '\n');
      return command ? 1 : 0;
  }
}
