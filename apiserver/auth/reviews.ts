// authorization.k8s.io/v1's access reviews (pkg/registry/authorization):
// SubjectAccessReview and LocalSubjectAccessReview ask the authorizer about
// any user, SelfSubjectAccessReview about the requester, and
// SelfSubjectRulesReview lists the requester's rules in a namespace
// (`kubectl auth can-i`, `can-i --list`). Nothing is stored.

import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/types.js';
import type { EphemeralHandler } from '../handlers/ephemeral.js';
import type { Attributes, Authorizer, RulesResult, UserInfo } from './types.js';

interface ResourceAttributes { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string }
interface NonResourceAttributes { path?: string; verb?: string }
interface AccessReviewSpec { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: NonResourceAttributes; user?: string; groups?: string[]; uid?: string; extra?: Record<string, string[]> }

/** authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom. */
export function attributesFrom(user: UserInfo, spec: AccessReviewSpec): Attributes {
  const ra = spec.resourceAttributes;
  if (ra) {
    return {
      user, verb: ra.verb ?? '', resourceRequest: true, path: '', apiGroup: ra.group ?? '', apiVersion: ra.version || '*',
      resource: ra.resource ?? '', subresource: ra.subresource ?? '', namespace: ra.namespace ?? '', name: ra.name ?? '',
    };
  }
  const nra = spec.nonResourceAttributes ?? {};
  return { user, verb: nra.verb ?? '', resourceRequest: false, path: nra.path ?? '', apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
}

/** The user a SubjectAccessReview asks about: exactly who the spec names, no groups added. */
function specUser(spec: AccessReviewSpec): UserInfo {
  const u: UserInfo = { username: spec.user ?? '', groups: spec.groups ?? [] };
  if (spec.uid) u.uid = spec.uid;
  if (spec.extra) u.extra = spec.extra;
  return u;
}

async function answer(authorizer: Authorizer, obj: KubeObject, attrs: Attributes): Promise<KubeObject> {
  const { decision, reason } = await authorizer.authorize(attrs);
  const status: Record<string, unknown> = { allowed: decision === 'Allow' };
  if (decision === 'Deny') status.denied = true;
  if (reason) status.reason = reason;
  return { ...obj, status };
}

/** SubjectRulesReviewStatus as kube's REST fills it: no rules is an empty list, never absent. */
function rulesStatus(r: RulesResult): Record<string, unknown> {
  const status: Record<string, unknown> = { resourceRules: r.resourceRules, nonResourceRules: r.nonResourceRules, incomplete: r.incomplete };
  if (r.evaluationError) status.evaluationError = r.evaluationError;
  return status;
}

/**
 * The handlers of the four reviews, keyed by plural, for ServerConfig.ephemeral.
 * `authorizer` is the server's whole chain (kube reviews with the same
 * authorizer its requests pass); SelfSubjectRulesReview needs its rulesFor.
 */
export function accessReviewHandlers(authorizer: Authorizer): Map<string, EphemeralHandler> {
  return new Map<string, EphemeralHandler>([
    ['subjectaccessreviews', async (obj) => answer(authorizer, obj, attributesFrom(specUser(obj.spec), obj.spec))],
    ['localsubjectaccessreviews', async (obj, req) => {
      const namespace = req.namespace ?? '';
      if (!namespace) throw errors.badRequest(`namespace is required on this type: ${namespace}`);
      const spec: AccessReviewSpec = obj.spec;
      if (spec.resourceAttributes) {
        if (!spec.resourceAttributes.namespace) spec.resourceAttributes.namespace = namespace;
        if (spec.resourceAttributes.namespace !== namespace) throw errors.badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
      }
      return answer(authorizer, obj, attributesFrom(specUser(spec), spec));
    }],
    ['selfsubjectaccessreviews', async (obj, req) => answer(authorizer, obj, attributesFrom(req.user, obj.spec))],
    ['selfsubjectrulesreviews', async (obj, req) => {
      const namespace: string = obj.spec?.namespace ?? '';
      if (!namespace) throw errors.badRequest('no namespace on request');
      const result: RulesResult = authorizer.rulesFor
        ? await authorizer.rulesFor(req.user, namespace)
        : { resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'authorizer does not support user rule resolution' };
      return { ...obj, status: rulesStatus(result) };
    }],
  ]);
}
