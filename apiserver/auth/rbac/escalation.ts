// Escalation prevention (pkg/registry/rbac: the policy-based role and binding
// storages, EscalationAllowed, RoleEscalationAuthorized, BindingAuthorized,
// and validation.ConfirmNoEscalation): nobody grants a permission they do
// not hold. A Role or ClusterRole is written only by someone who holds every
// rule in it (or has `escalate` on it); a binding only by someone who holds
// the referenced role's rules in the binding's scope (or has `bind` on it).
// system:masters passes: the server's own loopback clients are in it.

import { isDeepStrictEqual } from 'node:util';
import { errors } from '../../../api/errors.js';
import type { ClusterRole, KubeObject, PolicyRule, RoleBinding } from '../../../api/types.js';
import { groups, type AdmissionAttributes, type AdmissionPlugin, type Attributes, type Authorizer, type UserInfo } from '../types.js';
import { rbacGroup, type RBACAuthorizer } from './authorizer.js';
import { compactRules, compactString, covers, goQuoteList } from './rules.js';

const fullAuthority: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** IsOnlyMutatingGCFields: an update that only touches ownerReferences or finalizers is the garbage collector's, never an escalation. */
function onlyGCFields(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { ownerReferences: _o, finalizers: _f, managedFields: _m, resourceVersion: _r, ...meta } = o.metadata ?? {};
    return JSON.parse(JSON.stringify({ ...o, metadata: meta }));
  };
  return isDeepStrictEqual(strip(obj), strip(old));
}

export class RBACEscalation implements AdmissionPlugin {
  readonly name = 'RBACEscalation';

  /**
   * rbac resolves the requester's rules (kube's rule resolver is RBAC's own);
   * authorizer answers the `escalate` and `bind` checks and should be the
   * server's whole chain, as kube passes its union authorizer.
   */
  constructor(private readonly rbac: RBACAuthorizer, private readonly authorizer: Authorizer = rbac) {
    if (!rbac) throw new Error('RBACEscalation needs the RBAC authorizer');
  }

  async validate(a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
    if (a.resource.group !== rbacGroup || a.subresource || !a.object) return;
    if (a.user.groups.includes(groups.masters)) return;
    if (a.operation === 'UPDATE' && a.oldObject && onlyGCFields(a.object, a.oldObject)) return;
    const plural = a.resource.plural;
    const namespace = a.resource.namespaced ? a.namespace : '';
    // The request's name: none on a create (it is POSTed to the collection), as kube's RequestInfo has it.
    const requestName = a.operation === 'CREATE' ? '' : a.name;
    const objName = a.object.metadata?.name ?? '';
    switch (plural) {
      case 'roles':
      case 'clusterroles': {
        if (await this.can(a.user, 'escalate', plural, namespace, requestName)) return;
        const role = a.object as ClusterRole;
        await this.confirmNoEscalation(a.user, namespace, role.rules ?? [], plural, objName);
        if (plural === 'clusterroles') {
          const had = (a.oldObject as ClusterRole | undefined)?.aggregationRule;
          const changed = a.operation === 'CREATE' ? !!role.aggregationRule : !isDeepStrictEqual(norm(role.aggregationRule), norm(had));
          if (changed && (role.aggregationRule || had)) {
            // An aggregation rule can gather anything, so setting or changing one needs * on *.*.
            const { rules } = await this.rbac.policyRulesFor(a.user, namespace);
            if (!covers(rules, fullAuthority).covered) {
              throw errors.forbiddenResource(plural, rbacGroup, objName, 'must have cluster-admin privileges to use the aggregationRule');
            }
          }
        }
        return;
      }
      case 'rolebindings':
      case 'clusterrolebindings': {
        const binding = a.object as RoleBinding;
        const ref = binding.roleRef;
        if (!ref) return;
        if (await this.bindingAuthorized(a.user, ref, namespace)) return;
        const got = this.rbac.roleRefRules(ref, namespace);
        if ('error' in got) {
          // The registry's getter answers NotFound for a role that does not exist.
          throw ref.kind === 'Role' ? errors.notFound('roles', ref.name, rbacGroup) : errors.notFound('clusterroles', ref.name, rbacGroup);
        }
        await this.confirmNoEscalation(a.user, namespace, got.rules, plural, objName);
        return;
      }
    }
  }

  private async can(user: UserInfo, verb: string, resource: string, namespace: string, name: string): Promise<boolean> {
    const attrs: Attributes = { user, verb, resourceRequest: true, path: '', apiGroup: rbacGroup, apiVersion: '*', resource, subresource: '', namespace, name };
    return (await this.authorizer.authorize(attrs)).decision === 'Allow';
  }

  /** BindingAuthorized: `bind` on the referenced role, checked in the binding's namespace ('' for ClusterRoleBindings). */
  private async bindingAuthorized(user: UserInfo, ref: RoleBinding['roleRef'], namespace: string): Promise<boolean> {
    if (ref.kind !== 'Role' && ref.kind !== 'ClusterRole') return false;
    const attrs: Attributes = {
      user, verb: 'bind', resourceRequest: true, path: '', apiGroup: ref.apiGroup, apiVersion: '', resource: ref.kind === 'Role' ? 'roles' : 'clusterroles', subresource: '', namespace, name: ref.name,
    };
    return (await this.authorizer.authorize(attrs)).decision === 'Allow';
  }

  /** ConfirmNoEscalation, with kube's Forbidden wording. */
  private async confirmNoEscalation(user: UserInfo, namespace: string, rules: PolicyRule[], plural: string, name: string): Promise<void> {
    const owner = await this.rbac.policyRulesFor(user, namespace);
    const { covered, missing } = covers(owner.rules, rules);
    if (covered) return;
    const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
    let msg = `user ${JSON.stringify(user.username)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join('\n')}`;
    if (owner.errors.length) msg += `; resolution errors: [${owner.errors.join(' ')}]`;
    throw errors.forbiddenResource(plural, rbacGroup, name, msg);
  }
}

function norm(v: unknown): unknown {
  return v === undefined || v === null ? null : JSON.parse(JSON.stringify(v));
}
