import { describe, expect, it } from 'vitest';
import { enabledControllers } from './manager.js';

describe('--controllers', () => {
  it('enables all with "*", minus the disabled ones', () => {
    expect([...enabledControllers(['*', '-garbage-collector-controller'])]).toEqual(['replicaset-controller', 'deployment-controller', 'endpoints-controller', 'endpointslice-controller', 'endpointslice-mirroring-controller', 'node-lifecycle-controller', 'node-ipam-controller', 'taint-eviction-controller', 'clusterrole-aggregation-controller', 'serviceaccount-controller', 'root-ca-certificate-publisher-controller',
      'certificatesigningrequest-signing-controller', 'certificatesigningrequest-approving-controller',
      'daemonset-controller', 'statefulset-controller', 'job-controller', 'cronjob-controller', 'ttl-after-finished-controller',
      'persistentvolume-binder-controller', 'persistentvolume-protection-controller', 'persistentvolumeclaim-protection-controller', 'local-path-provisioner-controller',
      'replicationcontroller-controller', 'resourcequota-controller', 'horizontal-pod-autoscaler-controller', 'disruption-controller', 'pod-garbage-collector-controller']);
  });
  it('enables only the named ones without "*"', () => {
    expect([...enabledControllers(['replicaset-controller,endpoints-controller'])]).toEqual(['replicaset-controller', 'endpoints-controller']);
  });
  it('takes the older names kube still accepts for the ServiceAccount controllers', () => {
    expect([...enabledControllers(['serviceaccount,root-ca-cert-publisher'])]).toEqual(['serviceaccount-controller', 'root-ca-certificate-publisher-controller']);
    expect(enabledControllers(['*', '-serviceaccount']).has('serviceaccount-controller')).toBe(false);
  });
  it('leaves bootstrapsigner and tokencleaner out of "*" as kube, and takes them by name or alias', () => {
    expect(enabledControllers(['*']).has('bootstrap-signer-controller')).toBe(false);
    const on = enabledControllers(['*', 'bootstrapsigner', 'tokencleaner']);
    expect(on.has('bootstrap-signer-controller') && on.has('token-cleaner-controller') && on.has('certificatesigningrequest-approving-controller')).toBe(true);
  });
  it('takes podgc for the pod-garbage-collector-controller, as kube', () => {
    expect([...enabledControllers(['podgc'])]).toEqual(['pod-garbage-collector-controller']);
    expect(enabledControllers(['*', '-podgc']).has('pod-garbage-collector-controller')).toBe(false);
  });
  it('rejects unknown names as kube-controller-manager does', () => {
    expect(() => enabledControllers(['replicaset'])).toThrow('"replicaset" is not in the list of known controllers');
  });
});
