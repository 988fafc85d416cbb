// The authenticated user of a request, set once by the filter chain
// (apiserver/auth/filters.ts) and read by handlers and admission; kube keeps
// it in the request's context.

import type http from 'node:http';
import type { UserInfo } from './types.js';

const users = new WeakMap<http.IncomingMessage, UserInfo>();

export function setUser(req: http.IncomingMessage, user: UserInfo): void {
  users.set(req, user);
}

/** The request's user; a request that reached a handler without passing the filter chain is a bug, not an anonymous call. */
export function userOf(req: http.IncomingMessage): UserInfo {
  const u = users.get(req);
  if (!u) throw new Error('request has no authenticated user: it did not pass the filter chain');
  return u;
}
