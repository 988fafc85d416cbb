// Ephemeral containers (kubectl debug) as kube validates them: in the pod
// spec (validateEphemeralContainers: names unique across every container of
// the pod, a target that is one of the pod's own containers, no field that
// makes a container part of the workload) and in a write to the
// pods/ephemeralcontainers subresource (ValidatePodEphemeralContainersUpdate:
// existing ones may be neither removed nor changed; static pods get none).

import { isDeepStrictEqual } from 'node:util';
import { fieldCause } from '../errors.js';
import type { EphemeralContainer, KubeObject, PodSpec, StatusCause } from '../types.js';

type Causes = StatusCause[];

const forbidden = (field: string, detail: string) => fieldCause(field, 'FieldValueForbidden', `Forbidden: ${detail}`);
const notFound = (field: string, value: string) => fieldCause(field, 'FieldValueNotFound', `Not found: ${JSON.stringify(value)}`);

/** kube's allowedEphemeralContainerFields; any other field set is "cannot be set for an Ephemeral Container". */
const allowedFields = new Set([
  'name', 'image', 'command', 'args', 'workingDir', 'env', 'envFrom', 'volumeMounts', 'volumeDevices',
  'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty', 'targetContainerName',
]);

/**
 * Zero values count as unset, as validateFieldAllowList compares with Go's
 * zero value: Go's encoder writes an empty struct (`"resources": {}`, as
 * kubectl debug sends it), which is no setting.
 */
function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v as object).some(isSet);
  return true;
}

/**
 * The checks validateEphemeralContainers adds to the common container ones
 * (which the caller runs with the same name set, so a duplicate of a regular
 * or init container's name is reported here as Duplicate).
 */
export function validateEphemeralOnly(spec: PodSpec, field: string): Causes {
  const out: Causes = [];
  const others = new Set([...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name));
  (spec.ephemeralContainers ?? []).forEach((ec, i) => {
    const p = `${field}[${i}]`;
    if (ec.targetContainerName && !others.has(ec.targetContainerName)) out.push(notFound(`${p}.targetContainerName`, ec.targetContainerName));
    for (const [k, v] of Object.entries(ec)) {
      if (!allowedFields.has(k) && isSet(v)) out.push(forbidden(`${p}.${k}`, 'cannot be set for an Ephemeral Container'));
    }
    (ec.volumeMounts ?? []).forEach((vm, j) => {
      const m = vm as { subPath?: string; subPathExpr?: string };
      if (m.subPath) out.push(forbidden(`${p}.volumeMounts[${j}].subPath`, 'cannot be set for an Ephemeral Container'));
      if (m.subPathExpr) out.push(forbidden(`${p}.volumeMounts[${j}].subPathExpr`, 'cannot be set for an Ephemeral Container'));
    });
  });
  return out;
}

/** ValidatePodCreate: ephemeral containers come only through the subresource. */
export function validateNoEphemeralOnCreate(spec: PodSpec | undefined): Causes {
  return spec?.ephemeralContainers?.length ? [forbidden('spec.ephemeralContainers', 'cannot be set on create')] : [];
}

/** ValidatePodEphemeralContainersUpdate's part 2: what was there stays, unchanged (matched by name: patches do not keep order). */
export function validateEphemeralContainersUpdate(obj: KubeObject, old: KubeObject): Causes {
  if (old.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) {
    return [forbidden('', 'static pods do not support ephemeral containers')];
  }
  const out: Causes = [];
  const next = new Map(((obj.spec as PodSpec | undefined)?.ephemeralContainers ?? []).map((c) => [c.name, c] as const));
  for (const was of ((old.spec as PodSpec | undefined)?.ephemeralContainers ?? []) as EphemeralContainer[]) {
    const now = next.get(was.name);
    if (!now) out.push(forbidden('spec.ephemeralContainers', `existing ephemeral containers "${was.name}" may not be removed\n`));
    else if (!isDeepStrictEqual(JSON.parse(JSON.stringify(was)), JSON.parse(JSON.stringify(now)))) {
      out.push(forbidden(`spec.ephemeralContainers[${was.name}]`, `existing ephemeral containers "${was.name}" may not be changed\n`));
    }
  }
  return out;
}
