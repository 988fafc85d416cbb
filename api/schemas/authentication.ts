// authentication.k8s.io/v1 definitions: TokenReview and SelfSubjectReview,
// create-only kinds whose answer is computed by the API server's
// authenticators (apiserver/auth/authnreviews.ts), with upstream's field
// descriptions shortened.

import { bool, obj, ref, str, strList, type Schema } from './dsl.js';

const a = 'io.k8s.api.authentication.v1.';

export const authenticationSchemas: Record<string, Schema> = {
  [a + 'UserInfo']: obj('UserInfo holds the information about the user needed to implement the user.Info interface.', {
    username: str('The name that uniquely identifies this user among all active users.'),
    uid: str('A unique value that identifies this user across time. If this user is deleted and another user by the same name is added, they will have different UIDs.'),
    groups: strList('The names of groups this user is a part of.'),
    extra: { type: 'object', description: 'Any additional information provided by the authenticator.', additionalProperties: { type: 'array', items: { type: 'string', default: '' } } },
  }),
  [a + 'TokenReviewSpec']: obj('TokenReviewSpec is a description of the token authentication request.', {
    token: str('Token is the opaque bearer token.'),
    audiences: strList('Audiences is a list of the identifiers that the resource server presented with the token identifies as. Audience-aware token authenticators will verify that the token was intended for at least one of the audiences in this list. If no audiences are provided, the audience will default to the audience of the Kubernetes apiserver.'),
  }),
  [a + 'TokenReviewStatus']: obj('TokenReviewStatus is the result of the token authentication request.', {
    authenticated: bool('Authenticated indicates that the token was associated with a known user.'),
    user: ref(a + 'UserInfo', 'User is the UserInfo associated with the provided token.'),
    audiences: strList('Audiences are audience identifiers chosen by the authenticator that are compatible with both the TokenReview and token.'),
    error: str("Error indicates that the token couldn't be checked"),
  }),
  [a + 'SelfSubjectReviewStatus']: obj('SelfSubjectReviewStatus is filled by the kube-apiserver and sent back to a user.', {
    userInfo: ref(a + 'UserInfo', 'User attributes of the user making this request.'),
  }),
};

export const authenticationKinds: Record<string, { description: string; properties: Record<string, Schema>; required?: string[] }> = {
  TokenReview: {
    description: 'TokenReview attempts to authenticate a token to a known user. Note: TokenReview requests may be cached by the webhook token authenticator plugin in the kube-apiserver.',
    properties: {
      spec: ref(a + 'TokenReviewSpec', 'Spec holds information about the request being evaluated'),
      status: ref(a + 'TokenReviewStatus', 'Status is filled in by the server and indicates whether the request can be authenticated.'),
    },
    required: ['spec'],
  },
  SelfSubjectReview: {
    description: 'SelfSubjectReview contains the user information that the kube-apiserver has about the user making this request. When using impersonation, users will receive the user info of the user being impersonated. If impersonation or request header authentication is used, any extra keys will have their case ignored and returned as lowercase.',
    properties: {
      status: ref(a + 'SelfSubjectReviewStatus', 'Status is filled in by the server with the user attributes.'),
    },
  },
};

