// Which admission plugins run, and in what order: kube's
// --enable-admission-plugins / --disable-admission-plugins over its
// default-on set, always in kube's fixed order (AllOrderedPlugins), whatever
// order the flags name them in.

import { isNotFound } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { Store } from '../registry/store.js';
import type { ServiceAccountServing } from '../auth/serviceaccount/serving.js';
import type { AdmissionPlugin, Authorizer } from '../auth/types.js';
import { CertificateApproval, CertificateSigning, CertificateSubjectRestriction, CSRUserInfo } from './certificates.js';
import { NodeRestriction } from './noderestriction.js';
import { DefaultStorageClass, StorageObjectInUseProtection } from './defaultstorageclass.js';
import { PodSecurity, type PodSecurityConfiguration } from './podsecurity/admission.js';
import { LimitRanger } from './limitranger.js';
import { ResourceQuotaAdmission } from './resourcequota.js';
import { CachedLister } from '../registry/lister.js';
import { Priority } from './priority.js';

export interface AdmissionConfig {
  /** --enable-admission-plugins, --disable-admission-plugins: plugins on beside, and off among, kube's default-on set. */
  enableAdmissionPlugins?: string[];
  disableAdmissionPlugins?: string[];
  /** PodSecurity's part of --admission-control-config-file (defaults and exemptions). */
  podSecurityConfiguration?: PodSecurityConfiguration;
}

/** kube's AllOrderedPlugins. */
const orderedAdmissionPlugins = [
  'AlwaysAdmit', 'NamespaceAutoProvision', 'NamespaceLifecycle', 'NamespaceExists', 'LimitPodHardAntiAffinityTopology', 'LimitRanger', 'ServiceAccount',
  'NodeRestriction', 'TaintNodesByCondition', 'AlwaysPullImages', 'ImagePolicyWebhook', 'PodSecurity', 'PodNodeSelector', 'Priority', 'DefaultTolerationSeconds',
  'PodTolerationRestriction', 'EventRateLimit', 'ExtendedResourceToleration', 'DefaultStorageClass', 'StorageObjectInUseProtection',
  'OwnerReferencesPermissionEnforcement', 'PersistentVolumeClaimResize', 'RuntimeClass', 'CertificateApproval', 'CertificateSigning', 'ClusterTrustBundleAttest',
  'CertificateSubjectRestriction', 'DefaultIngressClass', 'DenyServiceExternalIPs', 'PodTopologyLabels', 'MutatingAdmissionPolicy', 'MutatingAdmissionWebhook',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionWebhook', 'ResourceQuota', 'AlwaysDeny',
];
/** kube's plugins that are on unless disabled (the complement of DefaultOffAdmissionPlugins). */
const defaultOnAdmissionPlugins = [
  'NamespaceLifecycle', 'LimitRanger', 'ServiceAccount', 'TaintNodesByCondition', 'PodSecurity', 'Priority', 'DefaultTolerationSeconds', 'DefaultStorageClass',
  'StorageObjectInUseProtection', 'PersistentVolumeClaimResize', 'RuntimeClass', 'CertificateApproval', 'CertificateSigning', 'ClusterTrustBundleAttest',
  'CertificateSubjectRestriction', 'DefaultIngressClass', 'MutatingAdmissionWebhook', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionWebhook', 'ResourceQuota',
];

/**
 * The enabled plugins Skiff has, in kube's order (NamespaceLifecycle is the
 * store's own check; plugins Skiff lacks are accepted by name and do nothing).
 */
export function admissionPlugins(cfg: AdmissionConfig, storeOf: (plural: string) => Store, serviceAccounts?: ServiceAccountServing, authorizer?: Authorizer): AdmissionPlugin[] {
  for (const name of [...(cfg.enableAdmissionPlugins ?? []), ...(cfg.disableAdmissionPlugins ?? [])]) {
    if (!orderedAdmissionPlugins.includes(name)) throw new Error(`admission plugin "${name}" is unknown`);
  }
  const on = new Set([...defaultOnAdmissionPlugins, ...(cfg.enableAdmissionPlugins ?? [])]);
  for (const name of cfg.disableAdmissionPlugins ?? []) on.delete(name);
  const get = (plural: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> => storeOf(plural).get(namespace, name).catch((e) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  // The CSR strategy's part (the creator's identity in spec), which kube does outside any named plugin.
  const plugins: AdmissionPlugin[] = [new CSRUserInfo()];
  for (const name of orderedAdmissionPlugins.filter((n) => on.has(n))) {
    switch (name) {
      case 'LimitRanger': {
        const limitRanges = new CachedLister(storeOf('limitranges'));
        plugins.push(new LimitRanger({ listLimitRanges: (ns) => limitRanges.list(ns) }));
        break;
      }
      case 'ResourceQuota': {
        const quotas = new CachedLister(storeOf('resourcequotas'));
        plugins.push(new ResourceQuotaAdmission({
          listQuotas: (ns) => quotas.list(ns),
          // The server's own write (no admission of its own), a CAS on the stored quota that the store retries on conflict.
          updateQuotaStatus: (ns, name, mutate) => storeOf('resourcequotas').update(ns, name, (current) => mutate(current!), { subresource: 'status', fieldManager: 'kube-apiserver' }),
        }));
        break;
      }
      case 'ServiceAccount':
        // Only where the server issues ServiceAccount tokens (--service-account-*), as kube-apiserver never runs without them.
        if (serviceAccounts) plugins.push(serviceAccounts.admission());
        break;
      case 'NodeRestriction':
        plugins.push(new NodeRestriction({ getPod: (ns, n) => get('pods', ns, n), getNode: (n) => get('nodes', undefined, n) }));
        break;
      case 'CertificateApproval':
        if (authorizer) plugins.push(new CertificateApproval(authorizer));
        break;
      case 'CertificateSigning':
        if (authorizer) plugins.push(new CertificateSigning(authorizer));
        break;
      case 'CertificateSubjectRestriction':
        plugins.push(new CertificateSubjectRestriction());
        break;
      case 'Priority': {
        // Every pod create reads the classes (the global default), so from an informer's cache; a class's own
        // write checks for a second default live, so that two writes in a row see each other.
        const classes = new CachedLister(storeOf('priorityclasses'));
        plugins.push(new Priority({
          getClass: (n) => classes.get(undefined, n),
          listClasses: () => classes.list(''),
          listClassesLive: async () => (await storeOf('priorityclasses').list(undefined, {})).items,
        }));
        break;
      }
      case 'DefaultStorageClass': {
        const classes = new CachedLister(storeOf('storageclasses'));
        plugins.push(new DefaultStorageClass(() => classes.list('')));
        break;
      }
      case 'StorageObjectInUseProtection':
        plugins.push(new StorageObjectInUseProtection());
        break;
      case 'PodSecurity': {
        const namespaces = new CachedLister(storeOf('namespaces'));
        plugins.push(new PodSecurity({
          getNamespace: (n) => namespaces.get(undefined, n),
          listPods: async (ns) => (await storeOf('pods').list(ns, {})).items,
          configuration: cfg.podSecurityConfiguration,
        }));
        break;
      }
    }
  }
  return plugins;
}
