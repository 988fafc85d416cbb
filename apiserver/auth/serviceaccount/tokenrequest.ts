// POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token: the TokenRequest
// subresource (kube's pkg/registry/core/serviceaccount/storage/token.go).
// Nothing is stored: the answer is the request with status.token and
// status.expirationTimestamp filled in. A token bound to a Pod, Secret or Node
// lives only as long as that object (the authenticator checks its uid).

import type { Request, Response } from 'express';
import { errors } from '../../../api/errors.js';
import { R } from '../../../api/resources.js';
import type { KubeObject, StatusCause, TokenRequest } from '../../../api/types.js';
import { fieldCause } from '../../../api/errors.js';
import { formatValue } from '../../../api/schemas/rules.js';
import { decodeObject, mediaType, readRawBody } from '../../negotiation.js';
import { now } from '../../registry/store.js';
import { sendJSON, type RestContext } from '../../handlers/rest.js';
import type { RequestInfo } from '../../handlers/request.js';
import { userOf } from '../context.js';
import type { TokenIssuer } from './issuer.js';

const group = 'authentication.k8s.io';
const apiVersion = `${group}/v1`;
/** authentication validation's MinTokenAgeSec and the 2^32 ceiling. */
const minExpirationSeconds = 600;
const maxExpirationSeconds = 2 ** 32;
/** SetDefaults_TokenRequestSpec. */
const defaultExpirationSeconds = 3600;

export type SubresourceHandler = (ctx: RestContext, req: Request, res: Response, info: RequestInfo) => Promise<void>;

export interface TokenRequestOptions {
  issuer: TokenIssuer;
}

const invalid = (field: string, value: unknown, detail: string): StatusCause => fieldCause(field, 'FieldValueInvalid', `Invalid value: ${formatValue(value)}: ${detail}`);

/** ValidateTokenRequest. */
function validateSpec(tr: TokenRequest): StatusCause[] {
  const out: StatusCause[] = [];
  const exp = tr.spec.expirationSeconds!;
  if (exp < minExpirationSeconds) out.push(invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes'));
  if (exp > maxExpirationSeconds) out.push(invalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds'));
  return out;
}

/** The body as the handler works on it: kind and version checked, spec defaulted. */
async function decodeTokenRequest(req: Request): Promise<TokenRequest> {
  const obj = decodeObject(mediaType(req), await readRawBody(req)) as TokenRequest;
  obj.kind ??= 'TokenRequest';
  obj.apiVersion ??= apiVersion;
  if (obj.apiVersion !== apiVersion) throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`);
  if (obj.kind !== 'TokenRequest') throw errors.badRequest(`${obj.kind} in version "v1" cannot be handled as a TokenRequest: the kind in the data does not match the expected kind`);
  const spec = obj.spec && typeof obj.spec === 'object' ? obj.spec : {};
  const exp = spec.expirationSeconds;
  if (exp !== undefined && exp !== null && !Number.isInteger(exp)) {
    throw errors.badRequest(`TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal ${typeof exp} into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64`);
  }
  const audiences = spec.audiences;
  if (audiences !== undefined && audiences !== null && !(Array.isArray(audiences) && audiences.every((a) => typeof a === 'string'))) {
    throw errors.badRequest('TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequestSpec.spec.audiences of type []string');
  }
  obj.spec = { audiences: audiences ?? null, expirationSeconds: exp ?? defaultExpirationSeconds, boundObjectRef: spec.boundObjectRef ?? null };
  return obj;
}

/** The TokenRequest subresource handler, for the server's dispatch of subresource "token". */
export function tokenRequestHandler(o: TokenRequestOptions): SubresourceHandler {
  const issuer = o.issuer;
  return async (ctx, req, res, info) => {
    if (info.verb !== 'create') throw errors.methodNotSupported('TokenRequest', req.method);
    const namespace = info.namespace;
    if (!namespace) throw errors.badRequest('namespace is required');
    const name = info.name!;
    const tr = await decodeTokenRequest(req);
    tr.metadata ??= {};
    const admission = ctx.admission.forRequest({ user: userOf(req), operation: 'CREATE', resource: R.serviceaccounts, subresource: 'token', namespace, name });
    await admission?.admit(tr, undefined);

    // Name and namespace in the body, when given, must be the URL's.
    if (tr.metadata.name && tr.metadata.name !== name) {
      throw errors.invalid('TokenRequest', name, [invalid('metadata.name', tr.metadata.name, 'must match the service account name if specified')], group);
    }
    if (tr.metadata.namespace && tr.metadata.namespace !== namespace) {
      throw errors.invalid('TokenRequest', name, [invalid('metadata.namespace', tr.metadata.namespace, 'must match the service account namespace if specified')], group);
    }
    const sa = await ctx.store(R.serviceaccounts).get(namespace, name);

    if (!tr.spec.audiences?.length) tr.spec.audiences = [...issuer.audiences];
    tr.metadata = { ...tr.metadata, name: sa.metadata.name, namespace: sa.metadata.namespace, creationTimestamp: now() };
    delete tr.status;
    const causes = validateSpec(tr);
    if (causes.length) throw errors.invalid('TokenRequest', '', causes, group);
    await admission?.validate(tr, undefined);

    let pod: KubeObject | undefined;
    let secret: KubeObject | undefined;
    let node: KubeObject | undefined;
    const bound = tr.spec.boundObjectRef;
    if (bound) {
      const [g, v] = (bound.apiVersion ?? '').includes('/') ? bound.apiVersion!.split('/', 2) : ['', bound.apiVersion ?? ''];
      const kind = bound.kind ?? '';
      const boundName = bound.name ?? '';
      let uid: string | undefined;
      if (g === '' && kind === 'Pod') {
        pod = await ctx.store(R.pods).get(namespace, boundName);
        if (name !== pod.spec?.serviceAccountName) throw errors.badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
        uid = pod.metadata.uid;
        // A pod's token also names its node, so that a node can tell which of its pods a token came from.
        const nodeName: string | undefined = pod.spec?.nodeName;
        if (nodeName) {
          node = await ctx.store(R.nodes).get(undefined, nodeName).catch((e: unknown) => {
            // A node not (yet) there still gets its name into the claims.
            if ((e as { code?: number }).code === 404) return { metadata: { name: nodeName } } as KubeObject;
            throw errors.internal((e as Error).message);
          });
        }
      } else if (g === '' && kind === 'Node') {
        node = await ctx.store(R.nodes).get(undefined, boundName);
        uid = node.metadata.uid;
      } else if (g === '' && kind === 'Secret') {
        secret = await ctx.store(R.secrets).get(namespace, boundName);
        uid = secret.metadata.uid;
      } else {
        throw errors.badRequest(`cannot bind token for serviceaccount "${name}" to object of type ${g}/${v}, Kind=${kind}.`);
      }
      if (bound.uid && bound.uid !== uid) {
        throw errors.conflict(kind, boundName, `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
    }

    if (issuer.maxExpirationSeconds > 0 && tr.spec.expirationSeconds! > issuer.maxExpirationSeconds) {
      res.setHeader('Warning', `299 - ${JSON.stringify(`requested expiration of ${tr.spec.expirationSeconds} seconds shortened to ${issuer.maxExpirationSeconds} seconds`)}`);
      tr.spec.expirationSeconds = issuer.maxExpirationSeconds;
    }
    const issued = await issuer.issue({ serviceAccount: sa, pod, secret, node, audiences: tr.spec.audiences, expirationSeconds: tr.spec.expirationSeconds! });
    tr.status = { token: issued.token, expirationTimestamp: issued.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') };
    sendJSON(res, 201, tr);
  };
}
