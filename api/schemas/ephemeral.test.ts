import { describe, expect, it } from 'vitest';
import type { KubeObject, PodSpec, StatusCause } from '../types.js';
import { validateEphemeralContainersUpdate, validateEphemeralOnly, validateNoEphemeralOnCreate } from './ephemeral.js';

const spec = (ephemeralContainers: PodSpec['ephemeralContainers']): PodSpec => ({ containers: [{ name: 'app', image: 'a' }], initContainers: [{ name: 'init', image: 'i' }], ephemeralContainers });
const pod = (s: PodSpec, annotations?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations }, spec: s });
const fields = (cs: StatusCause[]) => cs.map((c) => `${c.field}: ${c.message}`);

describe('ephemeral container validation', () => {
  it('takes a target among the regular and init containers only, and forbids what makes a container part of the workload', () => {
    expect(validateEphemeralOnly(spec([{ name: 'd', image: 'b', targetContainerName: 'init' }, { name: 'e', image: 'b', targetContainerName: 'app' }]), 'spec.ephemeralContainers')).toEqual([]);
    expect(fields(validateEphemeralOnly(spec([{ name: 'd', image: 'b', targetContainerName: 'd' }]), 'spec.ephemeralContainers'))).toEqual(['spec.ephemeralContainers[0].targetContainerName: Not found: "d"']);
    const bad = spec([{
      name: 'd', image: 'b', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } }, lifecycle: { preStop: { exec: { command: ['x'] } } },
      volumeMounts: [{ name: 'v', mountPath: '/v', subPath: 'x' } as never],
    }]);
    expect(fields(validateEphemeralOnly(bad, 'spec.ephemeralContainers'))).toEqual([
      'spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container',
      'spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container',
    ]);
    // Go's encoder writes empty structs: kubectl debug sends `resources: {}`, which sets nothing.
    expect(validateEphemeralOnly(spec([{ name: 'd', image: 'b', resources: {}, stdin: false, ports: [] }]), 'spec.ephemeralContainers')).toEqual([]);
  });

  it('refuses them on create', () => {
    expect(fields(validateNoEphemeralOnCreate(spec([{ name: 'd', image: 'b' }])))).toEqual(['spec.ephemeralContainers: Forbidden: cannot be set on create']);
    expect(validateNoEphemeralOnCreate(spec(undefined))).toEqual([]);
  });

  it('keeps existing ones as they were (matched by name, any order), and none for static pods', () => {
    const d = { name: 'd', image: 'b' };
    const e = { name: 'e', image: 'b' };
    expect(validateEphemeralContainersUpdate(pod(spec([e, d])), pod(spec([d])))).toEqual([]);
    expect(fields(validateEphemeralContainersUpdate(pod(spec([e])), pod(spec([d]))))).toEqual(['spec.ephemeralContainers: Forbidden: existing ephemeral containers "d" may not be removed\n']);
    expect(fields(validateEphemeralContainersUpdate(pod(spec([{ ...d, image: 'c' }])), pod(spec([d]))))).toEqual(['spec.ephemeralContainers[d]: Forbidden: existing ephemeral containers "d" may not be changed\n']);
    expect(fields(validateEphemeralContainersUpdate(pod(spec([d])), pod(spec([]), { 'kubernetes.io/config.mirror': 'x' })))).toEqual([': Forbidden: static pods do not support ephemeral containers']);
  });
});
