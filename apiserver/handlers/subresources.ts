// Subresources with their own shapes: scale (autoscaling/v1 Scale),
// pods/binding, pods/eviction. status is the object itself and goes through
// the plain verbs with subresource "status".

import type { Request, Response } from 'express';
import { errors, successStatus } from '../../api/errors.js';
import { R } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import { formatLabelSelector } from '../../api/labels.js';
import { integerRangeError } from '../../api/schemas/compile.js';
import { applyPatch } from '../patch/index.js';
import { parseJSONBody, readBody } from '../negotiation.js';
import { modifiedMessage } from '../registry/errors.js';
import { now } from '../registry/store.js';
import { decodeFor, patchType, writeOptions, type RestContext } from './rest.js';
import { userOf } from '../auth/context.js';
import { query, type RequestInfo } from './request.js';

function toScale(o: KubeObject): KubeObject {
  const m = o.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: { replicas: o.status?.replicas ?? 0, selector: formatLabelSelector(o.spec?.selector) },
  };
}

export async function scale(ctx: RestContext, req: Request, res: Response, info: RequestInfo): Promise<void> {
  const r = info.resource;
  const store = ctx.store(r);
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
    current!.spec = { ...current!.spec, replicas };
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
  await ctx.store(R.pods).delete(info.namespace, info.name!, {
    gracePeriodSeconds: opts.gracePeriodSeconds ?? undefined,
    preconditions: opts.preconditions,
    dryRun: Array.isArray(opts.dryRun) && opts.dryRun[0] === 'All',
    // Admission sees the eviction as kube does (CREATE pods/eviction), with the pod as the old object.
    admission: ctx.admission.forRequest({ user: userOf(req), operation: 'CREATE', resource: R.pods, subresource: 'eviction', namespace: info.namespace, name: info.name }),
  });
  res.status(201).json(successStatus());
}

