// core/v1 PersistentVolumeClaim: a user's request for storage, bound to one
// PersistentVolume (pkg/registry/core/persistentvolumeclaim,
// ValidatePersistentVolumeClaim*, SetDefaults_PersistentVolumeClaim,
// printPersistentVolumeClaim).

import { isDeepStrictEqual } from 'node:util';
import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field, isValidPathSegmentName } from '../../schemas/rules.js';
import { selectorFromLabelSelector } from '../../labels.js';
import {
  accessModesAsString, storageBytes, storageClassOf, validateAccessModes, validateClassName, validateStorageQuantity, validateVolumeMode,
} from './persistentvolumeutil.js';

function validateSpec(spec: any): StatusCause[] {
  if (!spec || typeof spec !== 'object') return [field.required('spec', '')];
  const out: StatusCause[] = [];
  out.push(...validateAccessModes(spec.accessModes, 'spec.accessModes', 'at least 1 access mode is required'));
  if (spec.selector) {
    try {
      selectorFromLabelSelector(spec.selector);
    } catch (e) {
      out.push(field.invalid('spec.selector', spec.selector, (e as Error).message));
    }
  }
  const requests = spec.resources?.requests;
  if (!requests || typeof requests !== 'object' || !('storage' in requests)) out.push(field.required('spec.resources[storage]', ''));
  else out.push(...validateStorageQuantity(requests.storage, 'spec.resources[storage]', true));
  out.push(...validateClassName(spec.storageClassName, 'spec.storageClassName'));
  out.push(...validateVolumeMode(spec.volumeMode, 'spec.volumeMode'));
  return out;
}

/** ValidatePersistentVolumeClaimUpdate: what may change in a claim's spec. */
function validateUpdate(pvc: any, old: any): StatusCause[] {
  const out: StatusCause[] = [];
  const next = structuredClone(pvc.spec ?? {});
  const prev = structuredClone(old.spec ?? {});
  // The binder writes volumeName once.
  if (!prev.volumeName && next.volumeName !== undefined) prev.volumeName = next.volumeName;
  // A bound claim may grow (expansion) and change its attributes class.
  if (old.status?.phase === 'Bound') {
    const newStorage = next.resources?.requests?.storage;
    if (newStorage !== undefined && prev.resources?.requests) prev.resources.requests.storage = newStorage;
    if (next.volumeAttributesClassName === undefined) delete prev.volumeAttributesClassName;
    else prev.volumeAttributesClassName = next.volumeAttributesClassName;
    if (newStorage !== undefined && storageBytes(next.resources.requests) < storageBytes(old.spec?.resources?.requests)) {
      out.push(field.forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
    }
  }
  const keys = [...new Set([...Object.keys(prev), ...Object.keys(next)])].filter((k) => !isDeepStrictEqual(prev[k], next[k])).sort();
  if (keys.length) {
    // kube appends a diff of the two specs; the changed fields, old and new, say the same here.
    const diff = keys.map((k) => `  ${k}: ${JSON.stringify(prev[k]) ?? '<unset>'} -> ${JSON.stringify(next[k]) ?? '<unset>'}`).join('\n');
    out.push(field.forbidden('spec', `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${diff}`));
  }
  return out;
}

export default defineKind({
  resource: entry({
    group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', shortNames: ['pvc'],
    namespaced: true, subresources: ['status'], hasStatus: true,
  }),

  nameRule: isValidPathSegmentName,

  // SetDefaults_PersistentVolumeClaim (and SetDefaults_PersistentVolumeClaimSpec).
  defaults(pvc) {
    if (pvc.spec && typeof pvc.spec === 'object') pvc.spec.volumeMode ??= 'Filesystem';
    if (pvc.status === undefined || pvc.status === null) pvc.status = {};
    if (typeof pvc.status === 'object' && !pvc.status.phase) pvc.status.phase = 'Pending';
  },

  validate(pvc, { old, subresource }) {
    if (subresource === 'status') return [];
    const out = validateSpec(pvc.spec);
    if (old) out.push(...validateUpdate(pvc, old));
    return out;
  },

  strategy: {
    prepareForCreate(pvc) {
      pvc.status = { phase: 'Pending' };
    },
  },

  printer: {
    columns: [nameCol,
      ['Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'],
      ['Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'],
      ['Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'],
      ['Access Modes', 'string', 'accessModes contains the desired access modes the volume should have.'],
      ['StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'],
      ['VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'],
      ageCol,
      ['VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1]],
    // printPersistentVolumeClaim: capacity and modes are the bound volume's, from status.
    cells: (pvc, since) => {
      const bound = !!pvc.spec?.volumeName;
      return [pvc.metadata.name, pvc.metadata.deletionTimestamp ? 'Terminating' : pvc.status?.phase ?? '', pvc.spec?.volumeName ?? '',
        bound ? String(pvc.status?.capacity?.storage ?? '') : '', bound ? accessModesAsString(pvc.status?.accessModes) : '',
        storageClassOf(pvc), pvc.spec?.volumeAttributesClassName ?? '<unset>', since(pvc.metadata.creationTimestamp), pvc.spec?.volumeMode ?? '<unset>'];
    },
  },
});
