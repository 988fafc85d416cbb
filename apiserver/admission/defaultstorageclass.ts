// The storage admission plugins (plugin/pkg/admission/storage):
// DefaultStorageClass gives a new claim that names no class the cluster's
// default StorageClass; StorageObjectInUseProtection puts the protection
// finalizers on new claims and volumes, which the pvc-protection and
// pv-protection controllers remove once nothing uses them, so a claim a pod
// still mounts, or a volume still bound, outlives its deletion request.

import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth/types.js';
import { betaStorageClassAnnotation, isDefaultClass, pvcProtectionFinalizer, pvProtectionFinalizer } from '../../api/kinds/core/persistentvolumeutil.js';

const isCreateOf = (a: AdmissionAttributes, group: string, plural: string) =>
  a.operation === 'CREATE' && !a.subresource && a.resource.group === group && a.resource.plural === plural && !!a.object;

/**
 * GetDefaultClass: of the classes marked default, the newest (by
 * creationTimestamp, then name), as kube picks one since 1.26 so that adding
 * a new default before removing the old one does not block claims.
 */
export function defaultStorageClass(classes: KubeObject[]): KubeObject | undefined {
  const defaults = classes.filter(isDefaultClass);
  defaults.sort((x, y) => {
    const tx = x.metadata.creationTimestamp ?? '';
    const ty = y.metadata.creationTimestamp ?? '';
    if (tx !== ty) return tx > ty ? -1 : 1;
    return (x.metadata.name ?? '') < (y.metadata.name ?? '') ? -1 : 1;
  });
  return defaults[0];
}

export class DefaultStorageClass implements AdmissionPlugin {
  readonly name = 'DefaultStorageClass';
  constructor(private readonly listClasses: () => Promise<KubeObject[]>) {}

  async admit(a: AdmissionAttributes): Promise<void> {
    if (!isCreateOf(a, '', 'persistentvolumeclaims')) return;
    const pvc = a.object!;
    // An explicit class, even "" (no class: bind only to volumes without one), stays as asked.
    if (!pvc.spec || typeof pvc.spec !== 'object') return;
    if (pvc.spec.storageClassName !== undefined && pvc.spec.storageClassName !== null) return;
    if (pvc.metadata.annotations?.[betaStorageClassAnnotation] !== undefined) return;
    const def = defaultStorageClass(await this.listClasses());
    if (def) pvc.spec.storageClassName = def.metadata.name;
  }
}

export class StorageObjectInUseProtection implements AdmissionPlugin {
  readonly name = 'StorageObjectInUseProtection';

  admit(a: AdmissionAttributes): void {
    const finalizer = isCreateOf(a, '', 'persistentvolumeclaims') ? pvcProtectionFinalizer : isCreateOf(a, '', 'persistentvolumes') ? pvProtectionFinalizer : undefined;
    if (!finalizer) return;
    const meta = a.object!.metadata;
    const list = Array.isArray(meta.finalizers) ? meta.finalizers : [];
    if (!list.includes(finalizer)) meta.finalizers = [...list, finalizer];
  }
}
