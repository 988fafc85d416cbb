// The admission chain (k8s.io/apiserver/pkg/admission): the plugins named by
// --enable-admission-plugins, in kube's fixed order, bound to one request.
// The store calls `admit` (mutating) before it defaults and validates an
// object and `validate` after its own validation, on every retry of a CAS
// write, as kube's registry does.

import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionAttributes, AdmissionPlugin, UserInfo } from '../auth/types.js';

/** One request's admission: what the store calls around its write. */
export interface Admission {
  admit(object: KubeObject | undefined, oldObject: KubeObject | undefined): Promise<void>;
  validate(object: KubeObject | undefined, oldObject: KubeObject | undefined): Promise<void>;
}

export interface AdmissionRequest {
  user: UserInfo;
  operation: AdmissionAttributes['operation'];
  resource: ResourceInfo;
  subresource?: string;
  namespace?: string;
  name?: string;
  dryRun?: boolean;
  warnings?: string[];
}

export class AdmissionChain {
  private readonly mutating: AdmissionPlugin[];
  private readonly validating: AdmissionPlugin[];

  constructor(readonly plugins: AdmissionPlugin[]) {
    this.mutating = plugins.filter((p) => p.admit);
    this.validating = plugins.filter((p) => p.validate);
  }

  forRequest(r: AdmissionRequest): Admission | undefined {
    if (!this.plugins.length) return undefined;
    const attrs = (object: KubeObject | undefined, oldObject: KubeObject | undefined): AdmissionAttributes => ({
      user: r.user,
      operation: r.operation,
      resource: r.resource,
      subresource: r.subresource ?? '',
      namespace: r.namespace ?? object?.metadata?.namespace ?? oldObject?.metadata?.namespace ?? '',
      name: r.name ?? object?.metadata?.name ?? oldObject?.metadata?.name ?? '',
      object,
      oldObject,
      dryRun: !!r.dryRun,
      warnings: r.warnings ?? [],
    });
    return {
      admit: async (object, oldObject) => {
        const a = attrs(object, oldObject);
        for (const p of this.mutating) await p.admit!(a);
      },
      validate: async (object, oldObject) => {
        const a = attrs(object, oldObject);
        for (const p of this.validating) await p.validate!(a);
      },
    };
  }
}
