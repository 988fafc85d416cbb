// storage.k8s.io/v1 CSIDriver: what the cluster should know of a CSI volume
// driver (pkg/registry/storage/csidriver, ValidateCSIDriver*,
// SetDefaults_CSIDriver, printCSIDriver). Skiff runs no CSI drivers; the kind
// is served so that manifests and charts that install one apply as on kube.

import { isDeepStrictEqual } from 'node:util';
import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { isObject, objectAt, setIfUnset } from '../../defaults.js';
import { field } from '../../schemas/rules.js';

const fsGroupPolicies = ['File', 'None', 'ReadWriteOnceWithFSType'];
const lifecycleModes = ['Persistent', 'Ephemeral'];
const minTokenSeconds = 600;

function validateSpec(spec: any): StatusCause[] {
  const out: StatusCause[] = [];
  // kube's paths, including its spelling "attachedRequired".
  if (typeof spec.attachRequired !== 'boolean') out.push(field.required('spec.attachedRequired'));
  if (typeof spec.podInfoOnMount !== 'boolean') out.push(field.required('spec.podInfoOnMount'));
  if (typeof spec.storageCapacity !== 'boolean') out.push(field.required('spec.storageCapacity'));
  if (spec.fsGroupPolicy != null && !fsGroupPolicies.includes(spec.fsGroupPolicy)) out.push(field.notSupported('spec.fsGroupPolicy', spec.fsGroupPolicy, fsGroupPolicies));
  const audiences = new Set<string>();
  (Array.isArray(spec.tokenRequests) ? spec.tokenRequests : []).forEach((t: any, i: number) => {
    const path = `spec.tokenRequests[${i}]`;
    const audience = t?.audience ?? '';
    if (audiences.has(audience)) {
      out.push(field.duplicate(`${path}.audience`, audience));
      return;
    }
    audiences.add(audience);
    if (typeof t?.expirationSeconds !== 'number') return;
    if (t.expirationSeconds < minTokenSeconds) out.push(field.invalid(`${path}.expirationSeconds`, t.expirationSeconds, 'may not specify a duration less than 10 minutes'));
    if (t.expirationSeconds > 2 ** 32) out.push(field.invalid(`${path}.expirationSeconds`, t.expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
  });
  for (const mode of Array.isArray(spec.volumeLifecycleModes) ? spec.volumeLifecycleModes : []) {
    if (!lifecycleModes.includes(mode)) out.push(field.notSupported('spec.volumeLifecycleModes', mode, lifecycleModes));
  }
  if (typeof spec.nodeAllocatableUpdatePeriodSeconds === 'number' && spec.nodeAllocatableUpdatePeriodSeconds < 10) {
    out.push(field.invalid('spec.nodeAllocatableUpdatePeriodSeconds', spec.nodeAllocatableUpdatePeriodSeconds, 'must be greater than or equal to 10 seconds'));
  }
  return out;
}

const yesNo = (v: unknown, otherwise: boolean) => (typeof v === 'boolean' ? v : otherwise);

export default defineKind({
  resource: entry({ group: 'storage.k8s.io', version: 'v1', kind: 'CSIDriver', plural: 'csidrivers', singular: 'csidriver', namespaced: false }),

  defaults(d) {
    const spec = objectAt(d, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'attachRequired', true);
    setIfUnset(spec, 'podInfoOnMount', false);
    setIfUnset(spec, 'storageCapacity', false);
    setIfUnset(spec, 'fsGroupPolicy', 'ReadWriteOnceWithFSType');
    setIfUnset(spec, 'requiresRepublish', false);
    setIfUnset(spec, 'seLinuxMount', false);
    if (!Array.isArray(spec.volumeLifecycleModes) || !spec.volumeLifecycleModes.length) spec.volumeLifecycleModes = ['Persistent'];
  },

  // ValidateCSIDriverUpdate: attachRequired and volumeLifecycleModes never change.
  validate(d, { old }) {
    const spec = isObject(d.spec) ? d.spec : {};
    const out = validateSpec(spec);
    if (old) {
      if (spec.attachRequired !== old.spec?.attachRequired) out.push(field.invalid('spec.attachedRequired', spec.attachRequired, 'field is immutable'));
      if (!isDeepStrictEqual(spec.volumeLifecycleModes, old.spec?.volumeLifecycleModes)) out.push(field.invalid('spec.volumeLifecycleModes', spec.volumeLifecycleModes, 'field is immutable'));
    }
    return out;
  },

  printer: {
    columns: [nameCol,
      ['AttachRequired', 'boolean', 'attachRequired indicates this CSI volume driver requires an attach operation, and that the Kubernetes attach detach controller should call the attach volume interface.'],
      ['PodInfoOnMount', 'boolean', 'podInfoOnMount indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations.'],
      ['StorageCapacity', 'boolean', 'storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report.'],
      ['TokenRequests', 'string', 'tokenRequests indicates the CSI driver needs pods\' service account tokens it is mounting volume for to do necessary authentication.'],
      ['RequiresRepublish', 'boolean', 'requiresRepublish indicates the CSI driver wants NodePublishVolume being periodically called to reflect any possible change in the mounted volume.'],
      ['Modes', 'string', 'volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.'],
      ageCol],
    cells: (d, since) => {
      const spec = d.spec ?? {};
      const audiences = (spec.tokenRequests ?? []).map((t: { audience?: string }) => t.audience ?? '');
      return [d.metadata.name, yesNo(spec.attachRequired, true), yesNo(spec.podInfoOnMount, false), yesNo(spec.storageCapacity, false),
        audiences.length ? audiences.join(',') : '<unset>', yesNo(spec.requiresRepublish, false),
        (spec.volumeLifecycleModes ?? []).join(',') || '<none>', since(d.metadata.creationTimestamp)];
    },
  },
});
