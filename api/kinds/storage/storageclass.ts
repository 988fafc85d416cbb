// storage.k8s.io/v1 StorageClass: how volumes of a class are provisioned
// (pkg/registry/storage/storageclass, pkg/apis/storage/validation
// ValidateStorageClass*, SetDefaults_StorageClass, printStorageClass).

import { isDeepStrictEqual } from 'node:util';
import type { StatusCause } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';
import { isQualifiedName } from '../../labels.js';
import { isDefaultClass } from '../core/persistentvolumeutil.js';

const maxParameters = 512;
const maxParametersBytes = 256 * 1024;

function validateClass(sc: any): StatusCause[] {
  const out: StatusCause[] = [];
  const prov = sc.provisioner;
  if (typeof prov !== 'string' || prov === '') out.push(field.required('provisioner', ''));
  else {
    for (const msg of isQualifiedName(prov.toLowerCase())) out.push(field.invalid('provisioner', prov, msg));
  }
  const params = sc.parameters;
  if (params && typeof params === 'object') {
    const keys = Object.keys(params);
    if (keys.length > maxParameters) out.push(field.forbidden('parameters', `Provisioner Parameters exceeded max allowed ${maxParameters}`));
    let size = 0;
    for (const k of keys) {
      if (k === '') out.push(field.invalid('parameters', params, 'field can not be empty.'));
      size += k.length + String(params[k]).length;
    }
    if (size > maxParametersBytes) out.push(field.forbidden('parameters', `Provisioner Parameters are too long (${size}), must be less than ${maxParametersBytes}`));
  }
  if (sc.reclaimPolicy !== undefined && !['Delete', 'Retain'].includes(sc.reclaimPolicy)) out.push(field.notSupported('reclaimPolicy', sc.reclaimPolicy, ['Delete', 'Retain']));
  if (sc.volumeBindingMode === undefined || sc.volumeBindingMode === null) out.push(field.required('volumeBindingMode', ''));
  else if (!['Immediate', 'WaitForFirstConsumer'].includes(sc.volumeBindingMode)) {
    out.push(field.notSupported('volumeBindingMode', sc.volumeBindingMode, ['Immediate', 'WaitForFirstConsumer']));
  }
  return out;
}

export default defineKind({
  resource: entry({ group: 'storage.k8s.io', version: 'v1', kind: 'StorageClass', plural: 'storageclasses', singular: 'storageclass', shortNames: ['sc'], namespaced: false }),

  // SetDefaults_StorageClass.
  defaults(sc) {
    sc.reclaimPolicy ??= 'Delete';
    sc.volumeBindingMode ??= 'Immediate';
  },

  validate(sc, { old }) {
    const out = validateClass(sc);
    if (old) {
      // ValidateStorageClassUpdate.
      if (!isDeepStrictEqual(sc.parameters ?? {}, old.parameters ?? {})) out.push(field.forbidden('parameters', 'updates to parameters are forbidden.'));
      if (sc.provisioner !== old.provisioner) out.push(field.forbidden('provisioner', 'updates to provisioner are forbidden.'));
      if (sc.reclaimPolicy !== old.reclaimPolicy) out.push(field.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
      if (sc.volumeBindingMode !== old.volumeBindingMode) out.push(field.invalid('volumeBindingMode', sc.volumeBindingMode, 'field is immutable'));
    }
    return out;
  },

  // printStorageClass: the default class is marked after its name.
  printer: {
    columns: [nameCol,
      ['Provisioner', 'string', 'Indicates the type of the provisioner.'],
      ['ReclaimPolicy', 'string', 'Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy. Defaults to Delete.'],
      ['VolumeBindingMode', 'string', 'VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound. When unset, VolumeBindingImmediate is used.'],
      ['AllowVolumeExpansion', 'string', 'AllowVolumeExpansion shows whether the storage class allow volume expand.'],
      ageCol],
    cells: (sc, since) => [
      isDefaultClass(sc) ? `${sc.metadata.name} (default)` : sc.metadata.name,
      sc.provisioner ?? '', sc.reclaimPolicy ?? 'Delete', sc.volumeBindingMode ?? 'Immediate', sc.allowVolumeExpansion === true,
      since(sc.metadata.creationTimestamp)],
  },
});
