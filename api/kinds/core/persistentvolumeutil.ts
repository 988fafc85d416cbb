// Helpers shared by PersistentVolume, PersistentVolumeClaim and StorageClass
// (pkg/apis/core/helper, pkg/apis/core/validation's volume rules): access
// modes as kubectl prints them, a claim's or volume's class, and the checks
// both kinds make of capacity, modes and volumeMode. No default export: this
// module is a helper beside the kinds, not a kind.

import type { KubeObject, StatusCause } from '../../types.js';
import { field } from '../../schemas/rules.js';
import { parseQuantity, quantityError } from '../../quantity.js';
import { isDNS1123Subdomain } from '../../labels.js';

/** Access modes in kube's order (GetAccessModesAsString prints them in this order, deduplicated). */
export const accessModeShort: [string, string][] = [
  ['ReadWriteOnce', 'RWO'], ['ReadOnlyMany', 'ROX'], ['ReadWriteMany', 'RWX'], ['ReadWriteOncePod', 'RWOP'],
];
export const supportedAccessModes = accessModeShort.map(([m]) => m);

export function accessModesAsString(modes: unknown): string {
  const have = new Set(Array.isArray(modes) ? modes : []);
  return accessModeShort.filter(([m]) => have.has(m)).map(([, s]) => s).join(',');
}

/** The beta annotation still wins over the field, as GetPersistentVolumeClass / GetPersistentVolumeClaimClass. */
export const betaStorageClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

export function storageClassOf(o: KubeObject | undefined): string {
  const a = o?.metadata?.annotations?.[betaStorageClassAnnotation];
  if (a !== undefined) return a;
  return typeof o?.spec?.storageClassName === 'string' ? o.spec.storageClassName : '';
}

/** storageutil.IsDefaultAnnotation: the GA annotation, or the beta one. */
export const defaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class';
export function isDefaultClass(sc: KubeObject | undefined): boolean {
  const a = sc?.metadata?.annotations ?? {};
  return a[defaultClassAnnotation] === 'true' || a['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
}

/** The finalizers of StorageObjectInUseProtection, lifted by the pvc-protection and pv-protection controllers. */
export const pvcProtectionFinalizer = 'kubernetes.io/pvc-protection';
export const pvProtectionFinalizer = 'kubernetes.io/pv-protection';

/** Where a node keeps local-path volumes: written by its kubelet on the Node, read by the local-path provisioner. */
export const localPathRootAnnotation = 'skiff.dev/local-path-root';

/** Storage request or capacity in bytes (0 when missing or malformed). */
export function storageBytes(list: Record<string, unknown> | undefined): number {
  const q = list?.storage;
  if (typeof q !== 'string' && typeof q !== 'number') return 0;
  try {
    return parseQuantity(q);
  } catch {
    return 0;
  }
}

export function validateAccessModes(modes: unknown, path: string, requiredDetail?: string): StatusCause[] {
  if (!Array.isArray(modes) || modes.length === 0) return [field.required(path, requiredDetail)];
  const out: StatusCause[] = [];
  for (const m of modes) if (!supportedAccessModes.includes(m)) out.push(field.notSupported(path, m, supportedAccessModes));
  // ValidatePersistentVolumeSpec/ClaimSpec: ReadWriteOncePod goes alone.
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) out.push(field.forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  return out;
}

export function validateVolumeMode(mode: unknown, path: string): StatusCause[] {
  if (mode === undefined || mode === null) return [];
  return mode === 'Block' || mode === 'Filesystem' ? [] : [field.notSupported(path, mode, ['Block', 'Filesystem'])];
}

export function validateClassName(name: unknown, path: string): StatusCause[] {
  if (typeof name !== 'string' || name === '') return [];
  const errs = isDNS1123Subdomain(name);
  return errs.map((e) => field.invalid(path, name, e));
}

/** ValidateResourceQuantityValue (non-negative) and, when positive is asked, ValidatePositiveQuantityValue. */
export function validateStorageQuantity(q: unknown, path: string, positive: boolean): StatusCause[] {
  if (typeof q !== 'string' && typeof q !== 'number') return []; // the schema reports the type
  const err = quantityError(q);
  if (err) return [field.invalid(path, q, err)];
  const v = parseQuantity(q as string);
  if (v < 0) return [field.invalid(path, q, 'must be greater than or equal to 0')];
  if (positive && v <= 0) return [field.invalid(path, q, 'must be greater than zero')];
  return [];
}

/** validatePathNoBacksteps: no ".." element. */
export function validateNoBacksteps(p: string, path: string): StatusCause[] {
  return p.split('/').includes('..') ? [field.invalid(path, p, "must not contain '..'")] : [];
}
