// metrics.k8s.io/v1beta1, served by the API server itself from the kubelets'
// /stats/summary (Docker's container statistics), so `kubectl top` works
// without installing metrics-server. The objects are what metrics-server
// serves: NodeMetrics and PodMetrics with usage in cores and bytes.

import express from 'express';
import type { Node } from '../api/types.js';
import { errors, type StatusError } from '../api/errors.js';
import { parseSelector } from '../api/labels.js';
import { metaTime } from '../api/time.js';

export const metricsGroupVersion = { group: 'metrics.k8s.io', version: 'v1beta1' };

/** Discovery entries for the group, in the APIResourceList form. */
export const metricsResources = [
  { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
  { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
];

interface Usage { usageNanoCores?: number; workingSetBytes?: number }
interface SummaryContainer { name: string; cpu?: Usage; memory?: Usage }
interface SummaryPod { podRef: { name: string; namespace: string; uid?: string }; containers?: SummaryContainer[]; cpu?: Usage; memory?: Usage }
export interface Summary { node: { nodeName: string; cpu?: Usage; memory?: Usage }; pods?: SummaryPod[] }

export interface MetricsSource {
  /** Nodes with their kubelet endpoint, from the API server's own storage. */
  nodes(): Promise<Node[]>;
  /** Pod labels, for ?labelSelector on pod metrics. */
  podLabels(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** The node's kubelet /stats/summary over the API server's kubelet client (handlers/proxy.ts); undefined when unreachable. */
  summary(node: Node): Promise<Summary | undefined>;
}

const cpu = (u?: Usage) => `${Math.round(u?.usageNanoCores ?? 0)}n`;
const memory = (u?: Usage) => `${Math.round((u?.workingSetBytes ?? 0) / 1024)}Ki`;

export function metricsRouter(source: MetricsSource): express.Router {
  const router = express.Router();
  const base = `/apis/${metricsGroupVersion.group}/${metricsGroupVersion.version}`;

  async function allSummaries(): Promise<Summary[]> {
    const nodes = await source.nodes();
    // An unreachable kubelet's node simply has no metrics, as with metrics-server.
    return (await Promise.all(nodes.map((n) => source.summary(n)))).filter((s): s is Summary => !!s);
  }

  const nodeMetrics = (s: Summary) => ({
    metadata: { name: s.node.nodeName, creationTimestamp: metaTime() },
    timestamp: metaTime(),
    window: '10s',
    usage: { cpu: cpu(s.node.cpu), memory: memory(s.node.memory) },
  });

  // metrics-server copies the pod's labels onto its PodMetrics.
  const podMetrics = (p: SummaryPod, labels: Record<string, string> | undefined) => ({
    metadata: { name: p.podRef.name, namespace: p.podRef.namespace, creationTimestamp: metaTime(), ...(labels ? { labels } : {}) },
    timestamp: metaTime(),
    window: '10s',
    containers: (p.containers ?? []).map((c) => ({ name: c.name, usage: { cpu: cpu(c.cpu), memory: memory(c.memory) } })),
  });

  const list = (kind: string, items: unknown[]) => ({ kind, apiVersion: `${metricsGroupVersion.group}/${metricsGroupVersion.version}`, metadata: {}, items });
  const send = (res: express.Response, e: StatusError) => res.status(e.code).json(e.status);

  router.get(base, (_req, res) => {
    res.json({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${metricsGroupVersion.group}/${metricsGroupVersion.version}`, resources: metricsResources });
  });

  router.get(`${base}/nodes`, async (_req, res) => {
    const items = (await allSummaries()).map(nodeMetrics).map((m) => ({ kind: 'NodeMetrics', apiVersion: `${metricsGroupVersion.group}/${metricsGroupVersion.version}`, ...m }));
    res.json(list('NodeMetricsList', items));
  });

  router.get(`${base}/nodes/:name`, async (req, res) => {
    const s = (await allSummaries()).find((x) => x.node.nodeName === req.params.name);
    if (!s) return send(res, errors.notFound('nodes', req.params.name, metricsGroupVersion.group));
    res.json({ kind: 'NodeMetrics', apiVersion: `${metricsGroupVersion.group}/${metricsGroupVersion.version}`, ...nodeMetrics(s) });
  });

  async function pods(namespace: string | undefined, labelSelector: string | undefined) {
    const selector = parseSelector(labelSelector);
    const out = [];
    for (const s of await allSummaries()) {
      for (const p of s.pods ?? []) {
        if (namespace && p.podRef.namespace !== namespace) continue;
        const labels = await source.podLabels(p.podRef.namespace, p.podRef.name);
        if (!selector.empty() && !selector.matches(labels)) continue;
        out.push({ kind: 'PodMetrics', apiVersion: `${metricsGroupVersion.group}/${metricsGroupVersion.version}`, ...podMetrics(p, labels) });
      }
    }
    return out;
  }

  router.get(`${base}/pods`, async (req, res) => {
    try {
      res.json(list('PodMetricsList', await pods(undefined, req.query.labelSelector as string | undefined)));
    } catch (e) {
      send(res, errors.badRequest((e as Error).message));
    }
  });

  router.get(`${base}/namespaces/:ns/pods`, async (req, res) => {
    try {
      res.json(list('PodMetricsList', await pods(req.params.ns, req.query.labelSelector as string | undefined)));
    } catch (e) {
      send(res, errors.badRequest((e as Error).message));
    }
  });

  router.get(`${base}/namespaces/:ns/pods/:name`, async (req, res) => {
    const found = (await pods(req.params.ns, undefined)).find((p) => p.metadata.name === req.params.name);
    if (!found) return send(res, errors.notFound('pods', req.params.name, metricsGroupVersion.group));
    res.json(found);
  });

  return router;
}
