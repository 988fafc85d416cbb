// Defaults as kube-apiserver applies them on create and update (SetDefaults_*
// in k8s.io/kubernetes/pkg/apis/*/v1/defaults.go).

import type { KubeObject } from './types.js';
import type { ResourceInfo } from './resources.js';

/** Fill in defaults in place. */
export function applyDefaults(resource: ResourceInfo, obj: KubeObject): void {
  throw new Error('TODO: implemented by the api/ helper');
}
