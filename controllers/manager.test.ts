import { describe, expect, it } from 'vitest';
import { enabledControllers } from './manager.js';

describe('--controllers', () => {
  it('enables all with "*", minus the disabled ones', () => {
    expect([...enabledControllers(['*', '-garbage-collector-controller'])]).toEqual(['replicaset-controller', 'deployment-controller', 'endpoints-controller', 'endpointslice-controller', 'endpointslice-mirroring-controller', 'node-lifecycle-controller', 'taint-eviction-controller']);
  });
  it('enables only the named ones without "*"', () => {
    expect([...enabledControllers(['replicaset-controller,endpoints-controller'])]).toEqual(['replicaset-controller', 'endpoints-controller']);
  });
  it('rejects unknown names as kube-controller-manager does', () => {
    expect(() => enabledControllers(['replicaset'])).toThrow('"replicaset" is not in the list of known controllers');
  });
});
