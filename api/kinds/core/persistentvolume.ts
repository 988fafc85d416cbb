// core/v1 PersistentVolume: a piece of storage the cluster can hand to a
// claim (pkg/registry/core/persistentvolume, pkg/apis/core/validation
// ValidatePersistentVolume*, SetDefaults_PersistentVolume, printPersistentVolume).

import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field, isValidPathSegmentName } from '../../schemas/rules.js';
import {
  accessModesAsString, storageClassOf, validateAccessModes, validateClassName, validateNoBacksteps, validateStorageQuantity, validateVolumeMode,
} from './persistentvolumeutil.js';
import { metaTime } from '../../time.js';

/** The volume sources of PersistentVolumeSpec (PersistentVolumeSource, inlined), hostPath first as kube checks it. */
const volumeSources = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'glusterfs', 'flocker', 'nfs', 'rbd', 'quobyte', 'cephfs', 'iscsi',
  'cinder', 'fc', 'flexVolume', 'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume', 'azureDisk', 'scaleIO',
  'local', 'storageos', 'csi',
];


function validateSpec(spec: any): StatusCause[] {
  const out: StatusCause[] = [];
  if (!spec || typeof spec !== 'object') return [field.required('spec', '')];
  out.push(...validateAccessModes(spec.accessModes, 'spec.accessModes'));
  const cap = spec.capacity;
  if (!cap || typeof cap !== 'object' || Object.keys(cap).length === 0) out.push(field.required('spec.capacity'));
  else if (!('storage' in cap) || Object.keys(cap).length > 1) out.push(field.notSupported('spec.capacity', cap, ['storage']));
  else out.push(...validateStorageQuantity(cap.storage, 'spec.capacity[storage]', false));
  const policy = spec.persistentVolumeReclaimPolicy;
  if (policy !== undefined && !['Delete', 'Recycle', 'Retain'].includes(policy)) {
    out.push(field.notSupported('spec.persistentVolumeReclaimPolicy', policy, ['Delete', 'Recycle', 'Retain']));
  }
  out.push(...validateClassName(spec.storageClassName, 'spec.storageClassName'));
  out.push(...validateVolumeMode(spec.volumeMode, 'spec.volumeMode'));

  let sources = 0;
  for (const s of volumeSources) {
    if (spec[s] === undefined || spec[s] === null) continue;
    if (sources > 0) {
      out.push(field.forbidden(`spec.${s}`, 'may not specify more than 1 volume type'));
      continue;
    }
    sources++;
    if (s === 'hostPath') {
      const p = spec.hostPath.path;
      if (typeof p !== 'string' || p === '') out.push(field.required('spec.hostPath.path'));
      else {
        out.push(...validateNoBacksteps(p, 'spec.hostPath.path'));
        // A Recycle policy on "/" would have the recycler wipe the node.
        if (policy === 'Recycle' && path.posix.normalize(p) === '/') out.push(field.forbidden('spec.persistentVolumeReclaimPolicy', 'may not be \'recycle\' for a hostPath mount of \'/\''));
      }
    }
    if (s === 'local') {
      const p = spec.local.path;
      if (typeof p !== 'string' || p === '') out.push(field.required('spec.local.path'));
      else {
        if (!path.posix.isAbsolute(p)) out.push(field.invalid('spec.local.path', p, 'must be an absolute path'));
        out.push(...validateNoBacksteps(p, 'spec.local.path'));
      }
      if (!spec.nodeAffinity) out.push(field.required('spec.nodeAffinity', 'Local volume requires node affinity'));
    }
  }
  if (sources === 0) out.push(field.required('spec', 'must specify a volume type'));

  const na = spec.nodeAffinity;
  if (na && typeof na === 'object') {
    const terms = na.required?.nodeSelectorTerms;
    if (!na.required) out.push(field.required('spec.nodeAffinity.required', 'must specify required node constraints'));
    else if (!Array.isArray(terms) || terms.length === 0) out.push(field.required('spec.nodeAffinity.required.nodeSelectorTerms', 'must have at least one node selector term'));
  }
  return out;
}

export default defineKind({
  resource: entry({
    group: '', version: 'v1', kind: 'PersistentVolume', plural: 'persistentvolumes', singular: 'persistentvolume', shortNames: ['pv'],
    namespaced: false, subresources: ['status'], hasStatus: true,
  }),

  nameRule: isValidPathSegmentName,

  // SetDefaults_PersistentVolume.
  defaults(pv) {
    if (pv.spec && typeof pv.spec === 'object') {
      pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
      pv.spec.volumeMode ??= 'Filesystem';
    }
    if (pv.status === undefined || pv.status === null) pv.status = {};
    if (typeof pv.status === 'object' && !pv.status.phase) pv.status.phase = 'Pending';
  },

  validate(pv, { old, subresource }) {
    if (subresource === 'status') return [];
    const out = validateSpec(pv.spec);
    if (old?.spec && pv.spec && typeof pv.spec === 'object') {
      // ValidatePersistentVolumeUpdate: the source, the volume mode and the node affinity stay as created.
      const source = (s: any) => Object.fromEntries(volumeSources.filter((k) => s?.[k] !== undefined).map((k) => [k, s[k]]));
      if (!isDeepStrictEqual(source(pv.spec), source(old.spec))) out.push(field.forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
      if (pv.spec.volumeMode !== old.spec.volumeMode) out.push(field.invalid('spec.volumeMode', pv.spec.volumeMode, 'field is immutable'));
      if (old.spec.nodeAffinity && !isDeepStrictEqual(pv.spec.nodeAffinity, old.spec.nodeAffinity)) out.push(field.invalid('spec.nodeAffinity', pv.spec.nodeAffinity, 'field is immutable'));
    }
    return out;
  },

  strategy: {
    // persistentvolumeStrategy.PrepareForCreate: a new volume is Pending, since now.
    prepareForCreate(pv) {
      pv.status = { phase: 'Pending', lastPhaseTransitionTime: metaTime() };
    },
    // persistentvolumeStatusStrategy: a phase change moves lastPhaseTransitionTime unless the writer set it.
    prepareForUpdate(pv, old, subresource) {
      if (subresource !== 'status' || !pv.status || typeof pv.status !== 'object') return;
      if (pv.status.phase !== old.status?.phase && pv.status.lastPhaseTransitionTime === old.status?.lastPhaseTransitionTime) pv.status.lastPhaseTransitionTime = metaTime();
    },
  },

  // printPersistentVolume.
  printer: {
    columns: [nameCol,
      ['Capacity', 'string', 'capacity is the description of the persistent volume\'s resources and capacity.'],
      ['Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'],
      ['Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'],
      ['Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'],
      ['Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'],
      ['StorageClass', 'string', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'],
      ['VolumeAttributesClass', 'string', 'VolumeAttributesClass is the name of the VolumeAttributesClass to which this persistent volume belongs.'],
      ['Reason', 'string', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'],
      ageCol,
      ['VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', 1]],
    cells: (pv, since) => {
      const ref = pv.spec?.claimRef;
      const claim = ref?.name ? `${ref.namespace ?? ''}/${ref.name}` : '';
      const phase = pv.metadata.deletionTimestamp ? 'Terminating' : pv.status?.phase ?? '';
      return [pv.metadata.name, String(pv.spec?.capacity?.storage ?? ''), accessModesAsString(pv.spec?.accessModes), pv.spec?.persistentVolumeReclaimPolicy ?? '',
        phase, claim, storageClassOf(pv), pv.spec?.volumeAttributesClassName ?? '<unset>', pv.status?.reason ?? '',
        since(pv.metadata.creationTimestamp), pv.spec?.volumeMode ?? '<unset>'];
    },
  },
});
