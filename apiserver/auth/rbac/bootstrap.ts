// kube's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy:
// policy.go, namespace_policy.go) and its reconciliation at API server start
// (the rbac/bootstrap-roles post-start hook): missing objects are created;
// existing ones not annotated rbac.authorization.kubernetes.io/autoupdate:
// "false" get missing rules, subjects, labels and annotations added, never
// anything removed.

import { isAlreadyExists, isNotFound } from '../../../api/errors.js';
import type { ClusterRole, PolicyRule, RBACSubject, Role, RoleBinding } from '../../../api/types.js';
import { logger } from '../../../lib/log.js';
import { aggregateRules } from '../../../api/rbac.js';
import type { Store } from '../../registry/store.js';
import { rbacGroup } from './authorizer.js';
import { covers } from './rules.js';

const log = logger('rbac');

export const autoUpdateAnnotation = 'rbac.authorization.kubernetes.io/autoupdate';
const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const annotations = { [autoUpdateAnnotation]: 'true' };

const Read = ['get', 'list', 'watch'];
const ReadWrite = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const Write = ['create', 'update', 'patch', 'delete', 'deletecollection'];

const legacy = '';
const apps = 'apps';
const authn = 'authentication.k8s.io';
const authz = 'authorization.k8s.io';
const autoscaling = 'autoscaling';
const batch = 'batch';
const certificates = 'certificates.k8s.io';
const coordination = 'coordination.k8s.io';
const discovery = 'discovery.k8s.io';
const events = 'events.k8s.io';
const extensions = 'extensions';
const networking = 'networking.k8s.io';
const policy = 'policy';
const storage = 'storage.k8s.io';

const sorted = (v: string[]) => [...v].sort();

/** PolicyRuleBuilder.RuleOrDie: every list sorted. */
function rule(verbs: string[], groups: string[], resources: string[], names?: string[]): PolicyRule {
  const r: PolicyRule = { verbs: sorted(verbs), apiGroups: sorted(groups), resources: sorted(resources) };
  if (names?.length) r.resourceNames = sorted(names);
  return r;
}
const urls = (verbs: string[], paths: string[]): PolicyRule => ({ verbs: sorted(verbs), nonResourceURLs: sorted(paths) });
const eventsRule = () => rule(['create', 'update', 'patch'], [legacy, events], ['events']);

function clusterRole(name: string, rules: PolicyRule[], extra: { labels?: Record<string, string>; aggregateFrom?: string } = {}): ClusterRole {
  const role: ClusterRole = {
    apiVersion: `${rbacGroup}/v1`, kind: 'ClusterRole',
    metadata: { name, labels: { ...bootstrapLabels, ...extra.labels }, annotations: { ...annotations } },
    rules,
  };
  if (extra.aggregateFrom) role.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/${extra.aggregateFrom}`]: 'true' } }] };
  return role;
}

const user = (name: string): RBACSubject => ({ kind: 'User', apiGroup: rbacGroup, name });
const group = (name: string): RBACSubject => ({ kind: 'Group', apiGroup: rbacGroup, name });
const serviceAccount = (namespace: string, name: string): RBACSubject => ({ kind: 'ServiceAccount', name, namespace });

function binding(kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, roleRef: { kind: string; name: string }, subjects: RBACSubject[], namespace?: string): RoleBinding {
  const b: RoleBinding = {
    apiVersion: `${rbacGroup}/v1`, kind,
    metadata: { name, ...(namespace ? { namespace } : {}), labels: { ...bootstrapLabels }, annotations: { ...annotations } },
    roleRef: { apiGroup: rbacGroup, kind: roleRef.kind, name: roleRef.name },
  };
  if (subjects.length) b.subjects = subjects;
  return b;
}

/**
 * Skiff's kube-controller-manager runs every controller under ONE identity
 * (user system:kube-controller-manager), where kube gives each controller a
 * ServiceAccount of its own (--use-service-account-credentials). So its role
 * is kube's system:kube-controller-manager plus the union of what Skiff's
 * controllers do: replicaset, deployment, endpoints, endpointslice,
 * endpointslice-mirroring, garbage collector (list/watch/patch/update/delete
 * on every kind), node lifecycle and taint eviction, serviceaccount (creates
 * `default`), root-ca-cert-publisher (kube-root-ca.crt ConfigMaps),
 * clusterrole-aggregation (updates aggregated ClusterRoles, hence escalate),
 * events, and its leader-election Lease.
 */
function controllerManagerRules(): PolicyRule[] {
  return [
    // kube's own system:kube-controller-manager.
    eventsRule(),
    rule(['create'], [coordination], ['leases']),
    rule(['get', 'update'], [coordination], ['leases'], ['kube-controller-manager']),
    rule(['create'], [legacy], ['secrets', 'serviceaccounts']),
    rule(['delete'], [legacy], ['secrets']),
    rule(['get'], [legacy], ['configmaps', 'namespaces', 'secrets', 'serviceaccounts']),
    rule(['update'], [legacy], ['secrets', 'serviceaccounts']),
    rule(['create'], [authn], ['tokenreviews']),
    rule(['create'], [authz], ['subjectaccessreviews']),
    rule(['list', 'watch'], ['*'], ['*']),
    rule(['create'], [legacy], ['serviceaccounts/token']),
    // garbage collector (kube's system:controller:generic-garbage-collector).
    rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']),
    // replicaset and deployment.
    rule(['get', 'list', 'watch', 'update'], [apps], ['replicasets', 'deployments']),
    rule(['update'], [apps], ['replicasets/status', 'replicasets/finalizers', 'deployments/status', 'deployments/finalizers']),
    rule(['create', 'delete', 'patch'], [apps], ['replicasets']),
    rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], [legacy], ['pods']),
    // job, cronjob and ttl-after-finished (kube's system:controller:job-controller, cronjob-controller, ttl-after-finished-controller).
    rule(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], [batch], ['jobs', 'cronjobs']),
    rule(['update'], [batch], ['jobs/status', 'jobs/finalizers', 'cronjobs/status', 'cronjobs/finalizers']),
    // daemonset and statefulset (kube's system:controller:daemon-set-controller and statefulset-controller).
    rule(['get', 'list', 'watch'], [apps], ['daemonsets', 'statefulsets']),
    rule(['update'], [apps], ['daemonsets/status', 'daemonsets/finalizers', 'statefulsets/status', 'statefulsets/finalizers']),
    rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], [apps], ['controllerrevisions']),
    rule(['create'], [legacy], ['pods/binding']),
    rule(['get', 'create', 'delete', 'update', 'patch'], [legacy], ['persistentvolumeclaims']),
    // endpoints, endpointslice, endpointslice-mirroring.
    rule(['get', 'list', 'watch'], [legacy], ['services', 'endpoints', 'nodes']),
    rule(['create', 'delete', 'get', 'list', 'update'], [legacy], ['endpoints']),
    rule(['create'], [legacy], ['endpoints/restricted']),
    rule(['create', 'delete', 'get', 'list', 'update'], [discovery], ['endpointslices']),
    rule(['update'], [legacy], ['services/finalizers']),
    // node lifecycle, taint eviction and node IPAM (kube's system:controller:node-controller: nodes patch/update for spec.podCIDR).
    rule(['get', 'list', 'watch', 'update', 'patch', 'delete'], [legacy], ['nodes']),
    rule(['patch', 'update'], [legacy], ['nodes/status', 'pods/status']),
    // serviceaccount controller and root-ca-cert-publisher.
    rule(['create', 'update'], [legacy], ['configmaps']),
    // clusterrole-aggregation: writes rules it does not itself hold.
    rule(['escalate', 'get', 'list', 'watch', 'update', 'patch'], [rbacGroup], ['clusterroles']),
    // csrapproving and csrsigning (kube's system:controller:certificate-controller): the signers Skiff approves and signs for.
    rule(['update'], [certificates], ['certificatesigningrequests/approval', 'certificatesigningrequests/status']),
    rule(['approve'], [certificates], ['signers'], [kubeletClientSigner, kubeletServingSigner, apiserverClientSigner]),
    rule(['sign'], [certificates], ['signers'], ['kubernetes.io/legacy-unknown', kubeletClientSigner, kubeletServingSigner, apiserverClientSigner]),
    // persistent-volume-binder, pvc-protection-controller, pv-protection-controller (kube's system:controller:*), and the
    // local-path provisioner, which creates volumes, the default StorageClass and helper pods (pods: above).
    rule(['create', 'delete', 'get', 'list', 'update', 'watch'], [legacy], ['persistentvolumes']),
    rule(['update'], [legacy], ['persistentvolumes/status', 'persistentvolumeclaims/status']),
    rule(['get', 'list', 'update', 'watch'], [legacy], ['persistentvolumeclaims']),
    rule(['get', 'list', 'watch', 'create'], [storage], ['storageclasses']),
    // replication-controller and resourcequota-controller (kube's system:controller:*; pods and events above).
    rule(['get', 'list', 'watch', 'update'], [legacy], ['replicationcontrollers']),
    rule(['update'], [legacy], ['replicationcontrollers/status', 'replicationcontrollers/finalizers', 'resourcequotas/status']),
    // horizontal-pod-autoscaler and disruption-controller (kube's system:controller:*; events above).
    rule(['get', 'list', 'watch'], [autoscaling], ['horizontalpodautoscalers']),
    rule(['update'], [autoscaling], ['horizontalpodautoscalers/status']),
    rule(['get', 'update'], ['*'], ['*/scale']),
    rule(['list'], ['metrics.k8s.io'], ['pods']),
    rule(['get', 'list'], ['custom.metrics.k8s.io', 'external.metrics.k8s.io'], ['*']),
    rule(['get', 'list', 'watch'], [policy], ['poddisruptionbudgets']),
    rule(['update'], [policy], ['poddisruptionbudgets/status']),
    // pod-garbage-collector (kube's system:controller:pod-garbage-collector).
    rule(['list', 'watch', 'delete'], [legacy], ['pods']),
    rule(['get', 'list'], [legacy], ['nodes']),
    rule(['patch'], [legacy], ['pods/status']),
  ];
}

const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
const kubeletServingSigner = 'kubernetes.io/kubelet-serving';
const apiserverClientSigner = 'kubernetes.io/kube-apiserver-client';
const csrRole = (suffix: string) => `system:certificates.k8s.io:${suffix}`;

/** The ClusterRoles of kube's bootstrap policy that Skiff serves. */
export function bootstrapClusterRoles(): ClusterRole[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('system:discovery', [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'])]),
    clusterRole('system:monitoring', [urls(['get'], ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'])]),
    clusterRole('system:basic-user', [
      rule(['create'], [authz], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], [authn], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/'])]),
    clusterRole('admin', [], { aggregateFrom: 'aggregate-to-admin' }),
    clusterRole('edit', [], { aggregateFrom: 'aggregate-to-edit', labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }),
    clusterRole('view', [], { aggregateFrom: 'aggregate-to-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }),
    clusterRole('system:aggregate-to-admin', [
      rule(['create'], [authz], ['localsubjectaccessreviews']),
      rule(ReadWrite, [rbacGroup], ['roles', 'rolebindings']),
    ], { labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }),
    clusterRole('system:aggregate-to-edit', [
      rule(Read, [legacy], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
      rule(['impersonate'], [legacy], ['serviceaccounts']),
      rule(Write, [legacy], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
      rule(['create'], [legacy], ['pods/eviction']),
      rule(Write, [legacy], ['replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy', 'persistentvolumeclaims', 'configmaps', 'secrets', 'events']),
      rule(['create'], [legacy], ['serviceaccounts/token']),
      rule(Write, [apps], ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale']),
      rule(Write, [autoscaling], ['horizontalpodautoscalers']),
      rule(Write, [batch], ['jobs', 'cronjobs']),
      rule(Write, [extensions], ['daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'ingresses', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale', 'networkpolicies']),
      rule(Write, [policy], ['poddisruptionbudgets']),
      rule(Write, [networking], ['ingresses', 'networkpolicies']),
      rule(ReadWrite, [coordination], ['leases']),
    ], { labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }),
    clusterRole('system:aggregate-to-view', [
      rule(Read, [legacy], ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
      rule(Read, [legacy], ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
      rule(Read, [legacy], ['namespaces']),
      rule(Read, [discovery], ['endpointslices']),
      rule(Read, [apps], ['controllerrevisions', 'statefulsets', 'statefulsets/status', 'statefulsets/scale', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale']),
      rule(Read, [autoscaling], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
      rule(Read, [batch], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
      rule(Read, [extensions], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale', 'networkpolicies']),
      rule(Read, [policy], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
      rule(Read, [networking], ['ingresses', 'ingresses/status', 'networkpolicies']),
    ], { labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }),
    clusterRole('system:auth-delegator', [
      rule(['create'], [authn], ['tokenreviews']),
      rule(['create'], [authz], ['subjectaccessreviews']),
    ]),
    clusterRole('system:kube-controller-manager', controllerManagerRules()),
    clusterRole('system:kube-dns', [rule(['list', 'watch'], [legacy], ['endpoints', 'services'])]),
    clusterRole('system:kube-scheduler', [
      eventsRule(),
      rule(['create'], [coordination], ['leases']),
      rule(['get', 'update'], [coordination], ['leases'], ['kube-scheduler']),
      rule(Read, [legacy], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [legacy], ['pods']),
      rule(['create'], [legacy], ['pods/binding', 'bindings']),
      rule(['patch', 'update'], [legacy], ['pods/status']),
      rule(Read, [legacy], ['replicationcontrollers', 'services']),
      rule(Read, [apps, extensions], ['replicasets']),
      rule(Read, [apps], ['statefulsets']),
      rule(Read, [policy], ['poddisruptionbudgets']),
      rule(Read, [legacy], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], [authn], ['tokenreviews']),
      rule(['create'], [authz], ['subjectaccessreviews']),
      rule(Read, [storage], ['csinodes']),
      rule(Read, [legacy], ['namespaces']),
      rule(Read, [storage], ['csidrivers']),
      rule(Read, [storage], ['csistoragecapacities']),
    ]),
    clusterRole('system:volume-scheduler', [
      rule(['get', 'list', 'watch', 'patch', 'update'], [legacy], ['persistentvolumes']),
      rule(Read, [storage], ['storageclasses']),
      rule(['get', 'list', 'watch', 'patch', 'update'], [legacy], ['persistentvolumeclaims']),
    ]),
    clusterRole('system:kubelet-api-admin', [
      rule(Read, [legacy], ['nodes']),
      rule(['proxy'], [legacy], ['nodes']),
      rule(['*'], [legacy], ['nodes/proxy', 'nodes/metrics', 'nodes/stats', 'nodes/log']),
    ]),
    clusterRole('system:node', [
      rule(['create'], [authn], ['tokenreviews']),
      rule(['create'], [authz], ['subjectaccessreviews', 'localsubjectaccessreviews']),
      rule(Read, [legacy], ['services']),
      rule(['create', 'get', 'list', 'watch'], [legacy], ['nodes']),
      rule(['update', 'patch'], [legacy], ['nodes/status']),
      rule(['update', 'patch'], [legacy], ['nodes']),
      rule(['create', 'update', 'patch'], [legacy], ['events']),
      rule(Read, [legacy], ['pods']),
      rule(['create', 'delete'], [legacy], ['pods']),
      rule(['update', 'patch'], [legacy], ['pods/status']),
      rule(['create'], [legacy], ['pods/eviction']),
      rule(Read, [legacy], ['secrets', 'configmaps']),
      rule(['get'], [legacy], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['get'], [legacy], ['endpoints']),
      rule(['create', 'get', 'list', 'watch'], [certificates], ['certificatesigningrequests']),
      rule(['get', 'create', 'update', 'patch', 'delete'], [coordination], ['leases']),
      rule(['get'], [storage], ['volumeattachments']),
      rule(['create'], [legacy], ['serviceaccounts/token']),
      rule(['get', 'update', 'patch'], [legacy], ['persistentvolumeclaims/status']),
      rule(Read, [storage], ['csidrivers']),
      rule(['get', 'create', 'update', 'patch', 'delete'], [storage], ['csinodes']),
      rule(Read, ['node.k8s.io'], ['runtimeclasses']),
    ]),
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [legacy], ['services', 'endpoints']),
      rule(Read, [legacy], ['nodes']),
      eventsRule(),
      rule(['list', 'watch'], [discovery], ['endpointslices']),
    ]),
    // Not kube's bootstrap policy but kubeadm's CoreDNS add-on (its ClusterRole and binding), which Skiff's cluster DNS runs as.
    clusterRole('system:coredns', [
      rule(['list', 'watch'], [legacy], ['endpoints', 'services', 'pods', 'namespaces']),
      rule(['list', 'watch'], [discovery], ['endpointslices']),
    ]),
    clusterRole('system:node-bootstrapper', [rule(['create', 'get', 'list', 'watch'], [certificates], ['certificatesigningrequests'])]),
    // What the csrapproving controller asks (by SubjectAccessReview) before it approves a kubelet's client certificate.
    clusterRole(csrRole('certificatesigningrequests:nodeclient'), [rule(['create'], [certificates], ['certificatesigningrequests/nodeclient'])]),
    clusterRole(csrRole('certificatesigningrequests:selfnodeclient'), [rule(['create'], [certificates], ['certificatesigningrequests/selfnodeclient'])]),
    clusterRole(csrRole('kube-apiserver-client-approver'), [rule(['approve'], [certificates], ['signers'], [apiserverClientSigner])]),
    clusterRole(csrRole('kube-apiserver-client-kubelet-approver'), [rule(['approve'], [certificates], ['signers'], [kubeletClientSigner])]),
    clusterRole(csrRole('kubelet-serving-approver'), [rule(['approve'], [certificates], ['signers'], [kubeletServingSigner])]),
    clusterRole(csrRole('legacy-unknown-approver'), [rule(['approve'], [certificates], ['signers'], ['kubernetes.io/legacy-unknown'])]),
    clusterRole('system:service-account-issuer-discovery', [urls(['get'], ['/.well-known/openid-configuration', '/openid/v1/jwks'])]),
  ];
}

const crb = (name: string, subjects: RBACSubject[], role = name) => binding('ClusterRoleBinding', name, { kind: 'ClusterRole', name: role }, subjects);

export function bootstrapClusterRoleBindings(): RoleBinding[] {
  return [
    crb('cluster-admin', [group('system:masters')]),
    crb('system:monitoring', [group('system:monitoring')]),
    crb('system:discovery', [group('system:authenticated')]),
    crb('system:basic-user', [group('system:authenticated')]),
    crb('system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    crb('system:node-proxier', [user('system:kube-proxy')]),
    crb('system:kube-controller-manager', [user('system:kube-controller-manager')]),
    crb('system:kube-dns', [serviceAccount('kube-system', 'kube-dns')]),
    crb('system:coredns', [serviceAccount('kube-system', 'coredns')]),
    crb('system:kube-scheduler', [user('system:kube-scheduler')]),
    crb('system:volume-scheduler', [user('system:kube-scheduler')]),
    // As kube since 1.8: kept without subjects; the Node authorizer gives kubelets what they need.
    crb('system:node', []),
    crb('system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
    // kubeadm's binding for TLS bootstrapping (`skiff join`), to every bootstrap token's group.
    crb('kubeadm:kubelet-bootstrap', [group('system:bootstrappers')], 'system:node-bootstrapper'),
    // The API server's client certificate for kubelets (--kubelet-client-certificate, CN kube-apiserver-kubelet-client):
    // kubelets authorize it by SubjectAccessReview, and it needs the kubelet API and nothing more.
    crb('system:kube-apiserver-kubelet-client', [user('kube-apiserver-kubelet-client')], 'system:kubelet-api-admin'),
  ];
}

function namespacedRole(namespace: string, name: string, rules: PolicyRule[]): Role {
  return { apiVersion: `${rbacGroup}/v1`, kind: 'Role', metadata: { name, namespace, labels: { ...bootstrapLabels }, annotations: { ...annotations } }, rules };
}

/** namespace_policy.go: the kube-system Roles the scheduler's and controller-manager's leader election use. */
export function bootstrapRoles(): Role[] {
  const leaderLocking = [
    rule(['watch', 'get', 'list', 'create', 'update'], [coordination], ['leases']),
    rule(['watch', 'get', 'list', 'create', 'update'], [coordination], ['leasecandidates']),
  ];
  return [
    namespacedRole('kube-system', 'extension-apiserver-authentication-reader', [rule(Read, [legacy], ['configmaps'], ['extension-apiserver-authentication'])]),
    namespacedRole('kube-system', 'system::leader-locking-kube-controller-manager', leaderLocking),
    namespacedRole('kube-system', 'system::leader-locking-kube-scheduler', leaderLocking),
  ];
}

export function bootstrapRoleBindings(): RoleBinding[] {
  const rb = (name: string, role: string, subjects: RBACSubject[]) => binding('RoleBinding', name, { kind: 'Role', name: role }, subjects, 'kube-system');
  return [
    rb('system::extension-apiserver-authentication-reader', 'extension-apiserver-authentication-reader', [user('system:kube-controller-manager'), user('system:kube-scheduler')]),
    rb('system::leader-locking-kube-controller-manager', 'system::leader-locking-kube-controller-manager', [
      user('system:kube-controller-manager'), serviceAccount('kube-system', 'kube-controller-manager'), serviceAccount('kube-system', 'leader-election-controller'),
    ]),
    rb('system::leader-locking-kube-scheduler', 'system::leader-locking-kube-scheduler', [user('system:kube-scheduler'), serviceAccount('kube-system', 'kube-scheduler')]),
  ];
}

/**
 * The bootstrap ClusterRoles with admin, edit and view already filled in, so
 * a cluster whose controller-manager has not started yet (or runs without
 * the aggregation controller) still has usable admin/edit/view roles; the
 * controller keeps them current afterwards.
 */
function withAggregatedRules(roles: ClusterRole[]): ClusterRole[] {
  // view feeds edit feeds admin: a few passes settle the chain.
  for (let pass = 0; pass < 3; pass++) {
    for (const r of roles) if (r.aggregationRule) r.rules = aggregateRules(r, roles);
  }
  return roles;
}

const merged = (expected: Record<string, string> | undefined, existing: Record<string, string> | undefined) => ({ ...(expected ?? {}), ...(existing ?? {}) });

/** Labels and annotations the bootstrap object has and the stored one lacks are added to `out` (the stored ones win); true when any were. */
function addMissingMetadata(out: Role | RoleBinding, existing: Role | RoleBinding, expected: Role | RoleBinding): boolean {
  let changed = false;
  const labels = merged(expected.metadata.labels, existing.metadata.labels);
  const ann = merged(expected.metadata.annotations, existing.metadata.annotations);
  if (JSON.stringify(labels) !== JSON.stringify({ ...(existing.metadata.labels ?? {}) })) { out.metadata.labels = labels; changed = true; }
  if (JSON.stringify(ann) !== JSON.stringify({ ...(existing.metadata.annotations ?? {}) })) { out.metadata.annotations = ann; changed = true; }
  return changed;
}

/** computeReconciledRole in union mode: missing rules (broken down, as kube adds them), labels and annotations added. */
export function reconcileRole<T extends Role>(existing: T, expected: T): T | undefined {
  if (existing.metadata.annotations?.[autoUpdateAnnotation] === 'false') return undefined;
  const out = structuredClone(existing);
  let changed = addMissingMetadata(out, existing, expected);
  const { missing } = covers(existing.rules ?? [], expected.rules ?? []);
  if (missing.length) {
    out.rules = [...(existing.rules ?? []), ...missing];
    changed = true;
  }
  const want = (expected as ClusterRole).aggregationRule?.clusterRoleSelectors ?? [];
  if (want.length) {
    const have = (existing as ClusterRole).aggregationRule?.clusterRoleSelectors ?? [];
    const add = want.filter((w) => !have.some((h) => JSON.stringify(h) === JSON.stringify(w)));
    if (add.length) {
      (out as ClusterRole).aggregationRule = { clusterRoleSelectors: [...have, ...add] };
      changed = true;
    }
  }
  return changed ? out : undefined;
}

/** computeReconciledRoleBinding in union mode: missing subjects added; undefined when nothing changes or the roleRef differs (then it is recreated). */
export function reconcileBinding(existing: RoleBinding, expected: RoleBinding): RoleBinding | 'recreate' | undefined {
  if (existing.metadata.annotations?.[autoUpdateAnnotation] === 'false') return undefined;
  if (JSON.stringify(existing.roleRef) !== JSON.stringify(expected.roleRef)) return 'recreate';
  const out = structuredClone(existing);
  let changed = addMissingMetadata(out, existing, expected);
  const have = existing.subjects ?? [];
  const sameSubject = (a: RBACSubject, b: RBACSubject) => a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');
  const add = (expected.subjects ?? []).filter((s) => !have.some((h) => sameSubject(h, s)));
  if (add.length) {
    out.subjects = [...have, ...add];
    changed = true;
  }
  return changed ? out : undefined;
}

const fieldManager = 'kube-apiserver';

/** createAs: what a missing role is created as (admin/edit/view with their rules already aggregated); reconciled against expected. */
async function ensureRole(store: Store, expected: Role, createAs: Role = expected): Promise<void> {
  const ns = store.resource.namespaced ? expected.metadata.namespace : undefined;
  try {
    await store.create(ns, structuredClone(createAs), { fieldManager });
    log.info('created bootstrap policy object', { kind: expected.kind, namespace: ns, name: expected.metadata.name });
    return;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  await store.update(ns, expected.metadata.name!, (current) => {
    if (!current) throw new Error(`${expected.kind} ${expected.metadata.name} vanished during reconciliation`);
    return reconcileRole(current as Role, expected) ?? current;
  }, { fieldManager });
}

async function ensureBinding(store: Store, expected: RoleBinding): Promise<void> {
  const ns = store.resource.namespaced ? expected.metadata.namespace : undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await store.create(ns, structuredClone(expected), { fieldManager });
      log.info('created bootstrap policy object', { kind: expected.kind, namespace: ns, name: expected.metadata.name });
      return;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    let recreate = false;
    await store.update(ns, expected.metadata.name!, (current) => {
      if (!current) throw new Error(`${expected.kind} ${expected.metadata.name} vanished during reconciliation`);
      const r = reconcileBinding(current as RoleBinding, expected);
      if (r === 'recreate') {
        recreate = true;
        return current;
      }
      return r ?? current;
    }, { fieldManager });
    if (!recreate) return;
    // roleRef is immutable: a binding pointing elsewhere is replaced, as kube's reconciler does.
    await store.delete(ns, expected.metadata.name!, {}).catch((e) => { if (!isNotFound(e)) throw e; });
  }
}

/**
 * The rbac/bootstrap-roles post-start hook: put kube's default roles and
 * bindings in place. Throws on a storage failure (or while kube-system does
 * not exist yet); the caller retries until it resolves.
 */
export async function ensureBootstrapPolicy(storeOf: (plural: string) => Store): Promise<void> {
  const expected = bootstrapClusterRoles();
  const filled = withAggregatedRules(bootstrapClusterRoles());
  // Aggregated roles are reconciled as kube's are, with no rules of their own: the controller owns them.
  for (let i = 0; i < expected.length; i++) await ensureRole(storeOf('clusterroles'), expected[i]!, filled[i]);
  for (const b of bootstrapClusterRoleBindings()) await ensureBinding(storeOf('clusterrolebindings'), b);
  for (const r of bootstrapRoles()) await ensureRole(storeOf('roles'), r);
  for (const b of bootstrapRoleBindings()) await ensureBinding(storeOf('rolebindings'), b);
}

/**
 * Runs ensureBootstrapPolicy until it succeeds, once a second (storage may
 * be away, kube-system not there yet), as kube's post-start hook retries.
 * `done` settles when the policy is in place.
 */
export function startBootstrapPolicy(storeOf: (plural: string) => Store, retryMs = 1000): { done: Promise<void>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const done = new Promise<void>((r) => { finish = r; });
  const attempt = async (): Promise<void> => {
    if (stopped) return;
    try {
      await ensureBootstrapPolicy(storeOf);
      log.info('bootstrap RBAC policy in place');
      finish();
    } catch (e) {
      if (stopped) return;
      log.info('bootstrap RBAC policy not in place yet, retrying', { error: (e as Error).message });
      timer = setTimeout(() => void attempt(), retryMs);
      timer.unref();
    }
  };
  void attempt();
  return { done, stop: () => { stopped = true; clearTimeout(timer); } };
}
