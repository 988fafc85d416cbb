// Subresources with their own shapes: scale (autoscaling/v1 Scale),
// pods/binding, pods/eviction. status is the object itself and goes through
// the plain verbs with subresource "status".

import type { Request, Response } from 'express';
import { errors, isConflict, successStatus, type StatusError } from '../../api/errors.js';
import { R, kindOf, type KindDefinition } from '../../api/resources.js';
import { readPath, writePath } from '../../api/kinds/apiextensions/structural/schema.js';
import type { KubeObject } from '../../api/types.js';
import { formatLabelSelector, selectorFromLabelSelector } from '../../api/labels.js';
import { integerRangeError } from '../../api/schemas/compile.js';
import { applyPatch } from '../patch/index.js';
import { parseJSONBody, readBody } from '../negotiation.js';
import { modifiedMessage } from '../registry/errors.js';
import { now } from '../registry/store.js';
import { selectsPod, setDisruptionAllowedCondition } from '../../api/kinds/policy/pdbhelper.js';
import { decodeFor, patchType, writeOptions, type RestContext } from './rest.js';
import { userOf } from '../auth/context.js';
import { query, type RequestInfo } from './request.js';

function scaleOf(o: KubeObject, paths?: KindDefinition['scale']): KubeObject {
  const m = o.metadata;
  const selector = paths ? (paths.selector ? paths.selector(o) : paths.labelSelectorPath ? readPath(o, paths.labelSelectorPath) : undefined) : formatLabelSelector(o.spec?.selector);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    // A custom resource's paths (its CRD's subresources.scale), read as kube's scale subresource does.
    spec: { replicas: paths ? readPath(o, paths.specReplicasPath) ?? 0 : o.spec?.replicas ?? 1 },
    status: { replicas: (paths ? readPath(o, paths.statusReplicasPath) : o.status?.replicas) ?? 0, ...(typeof selector === 'string' && selector ? { selector } : paths ? {} : { selector }) },
  };
}

export async function scale(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const store = ctx.store(r);
  const paths = kindOf(r).scale;
  const toScale = (o: KubeObject) => scaleOf(o, paths);
  if (info.verb === 'get') {
    res.json(toScale(await store.get(info.namespace, info.name!)));
    return;
  }
  let desired: (current: KubeObject) => KubeObject;
  if (info.verb === 'update') {
    const body = await decodeFor(req, r, 'Scale', 'autoscaling/v1');
    desired = () => body;
  } else if (info.verb === 'patch') {
    const ct = patchType(req);
    const raw = await readBody(req);
    desired = (current) => applyPatch(ct, toScale(current), raw, { resource: r, fieldManager: query(req, 'fieldManager'), subresource: 'scale' });
  } else {
    throw errors.methodNotSupported('Scale', req.method);
  }
  const out = await store.update(info.namespace, info.name!, (current) => {
    const s = desired(current!);
    const rv = s.metadata?.resourceVersion;
    if (rv && rv !== current!.metadata.resourceVersion) throw errors.conflict(r.plural, info.name!, modifiedMessage, r.group);
    const replicas = s.spec?.replicas;
    // Scale.spec.replicas is an int32: 2147483648, 1e400 (Infinity) or 1.5 never reach the object.
    const notInt32 = typeof replicas !== 'number' || !Number.isInteger(replicas) ? 'must be of type integer' : integerRangeError('int32', replicas);
    if (notInt32 || replicas < 0) {
      throw errors.invalid('Scale', info.name!, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${replicas}: ${notInt32 ?? 'must be greater than or equal to 0'}` }], 'autoscaling');
    }
    if (paths) writePath(current!, paths.specReplicasPath, replicas);
    else current!.spec = { ...current!.spec, replicas };
    return current!;
  }, { ...writeOptions(ctx, req, info, 'UPDATE'), subresource: 'scale', fieldManager: query(req, 'fieldManager') });
  res.json(toScale(out.object));
}

export async function binding(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  if (info.verb !== 'create') throw errors.methodNotSupported('Binding', req.method);
  const body = await decodeFor(req, R.pods, 'Binding', 'v1');
  const node = body.target?.name;
  if (!node) throw errors.invalid('Binding', info.name!, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  const name = info.name!;
  await ctx.store(R.pods).update(info.namespace, name, (pod) => {
    if (!pod) throw errors.notFound('pods', name);
    if (pod.metadata.deletionTimestamp) throw errors.conflict('pods/binding', name, `pod ${name} is being deleted, cannot be assigned to a host`);
    if (pod.spec?.nodeName) throw errors.conflict('pods/binding', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    pod.spec.nodeName = node;
    pod.status ??= {};
    const conditions = (pod.status.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
    pod.status.conditions = [...conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }];
    return pod;
  }, { ...writeOptions(ctx, req, info, 'CREATE'), subresource: 'binding', fieldManager: query(req, 'fieldManager') });
  res.status(201).json(successStatus());
}

export async function eviction(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  if (info.verb !== 'create') throw errors.methodNotSupported('Eviction', req.method);
  const raw = await readBody(req);
  let body: KubeObject;
  try {
    body = parseJSONBody(raw || '{}') as KubeObject;
  } catch (e) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest("Object 'Kind' is missing in the request body");
  const opts = body.deleteOptions ?? {};
  const dryRun = Array.isArray(opts.dryRun) && opts.dryRun[0] === 'All';
  // Admission sees the eviction as kube does (CREATE pods/eviction), with the pod as the old object.
  const admission = ctx.admission.forRequest({ user: userOf(req), operation: 'CREATE', resource: R.pods, subresource: 'eviction', namespace: info.namespace, name: info.name });
  const preconditions: { uid?: string; resourceVersion?: string } = { ...(opts.preconditions ?? {}) };
  // As kube's EvictionREST: a budget's CAS write lost to another eviction is retried, unless the client pinned a resourceVersion.
  for (let attempt = 0; ; attempt++) {
    try {
      const extra = await checkDisruptionBudgets(ctx, info.namespace!, info.name!, dryRun);
      await ctx.store(R.pods).delete(info.namespace, info.name!, {
        gracePeriodSeconds: opts.gracePeriodSeconds ?? undefined,
        preconditions: { ...preconditions, ...extra },
        dryRun,
        admission,
      });
      break;
    } catch (e) {
      if (!isConflict(e) || preconditions.resourceVersion || attempt >= 20 || (e as StatusError).status.details?.kind === 'pods') throw e;
    }
  }
  res.status(201).json(successStatus());
}

/** kube's DisruptionBudgetCause: the eviction was refused to keep a PodDisruptionBudget. */
function budgetRefusal(message: string, retryAfterSeconds: number, cause: string): StatusError {
  const err = errors.tooManyRequests(message, retryAfterSeconds);
  err.status.details = { ...(retryAfterSeconds ? { retryAfterSeconds } : {}), causes: [{ reason: 'DisruptionBudget', message: cause }] };
  return err;
}

const violates = "Cannot evict pod as it would violate the pod's disruption budget.";

/**
 * EvictionREST's budget check: a pod that is not running (or already terminating) is deleted outright; a pod
 * with one matching PodDisruptionBudget spends one of its disruptionsAllowed (written to the budget's status
 * with CAS, the pod recorded in disruptedPods so the disruption controller does not count it) or is refused
 * with 429; more than one budget is an error. Returns the delete's extra preconditions.
 */
async function checkDisruptionBudgets(ctx: RestContext, namespace: string, name: string, dryRun: boolean): Promise<{ resourceVersion?: string }> {
  const pod = await ctx.store(R.pods).get(namespace, name);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp) return {};
  const pdbStore = ctx.store(R.poddisruptionbudgets);
  const { items } = await pdbStore.list(namespace, {});
  const pdbs = items.filter((pdb) => selectsPod(pdb, pod, (sel, l) => selectorFromLabelSelector(sel).matches(l)));
  if (pdbs.length === 0) return {};
  if (pdbs.length > 1) throw errors.internal('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  const pdb = pdbs[0];
  const status = pdb.status ?? {};
  const ready = (pod.status?.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === 'Ready' && c.status === 'True');
  if (!ready) {
    // An unhealthy pod is not what the budget protects: evicted when the policy says so or the budget is met,
    // and only if it is still the pod that was judged (not become ready meanwhile).
    if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' || (status.currentHealthy >= status.desiredHealthy && status.desiredHealthy > 0)) {
      return { resourceVersion: pod.metadata.resourceVersion };
    }
    throw budgetRefusal(violates, 0, `The disruption budget ${pdb.metadata.name} does not have enough healthy pods`);
  }
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
    throw budgetRefusal(violates, 10, `The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
  }
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw errors.forbiddenResource('poddisruptionbudget', 'policy', pdb.metadata.name!, 'pdb disruptions allowed is negative');
  if (Object.keys(status.disruptedPods ?? {}).length > maxDisruptedPods) {
    throw errors.forbiddenResource('poddisruptionbudget', 'policy', pdb.metadata.name!, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (allowed === 0) {
    throw budgetRefusal(violates, 0, `The disruption budget ${pdb.metadata.name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`);
  }
  if (dryRun) return {};
  await pdbStore.update(namespace, pdb.metadata.name!, (current) => {
    // CAS on the budget as read: another eviction that spent it first makes this one decide again.
    if (!current || current.metadata.resourceVersion !== pdb.metadata.resourceVersion) throw errors.conflict('poddisruptionbudgets', pdb.metadata.name!, modifiedMessage, 'policy');
    const next = structuredClone(current);
    const st = next.status;
    st.disruptionsAllowed = allowed - 1;
    if (st.disruptionsAllowed === 0) setDisruptionAllowedCondition(st);
    st.disruptedPods = { ...(st.disruptedPods ?? {}), [name]: now() };
    return next;
  }, { subresource: 'status', fieldManager: 'kube-apiserver' });
  return {};
}

/** kube's MaxDisruptedPodSize: evictions the disruption controller has not yet confirmed. */
const maxDisruptedPods = 2000;
