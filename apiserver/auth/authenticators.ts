// Request authenticators (k8s.io/apiserver/pkg/authentication): client
// certificates verified against --client-ca-file, and bearer tokens handed to
// the token authenticators in turn (ServiceAccount JWTs, bootstrap tokens).
// Anonymous access is the filter chain's decision, not an authenticator.

import type http from 'node:http';
import type tls from 'node:tls';
import { errors } from '../../api/errors.js';
import { identityOf } from '../../lib/pki.js';
import type { Authenticator, TokenAuthenticator, UserInfo } from './types.js';

/**
 * x509: the TLS handshake already verified the chain (requestCert against the
 * client CA, rejectUnauthorized off so that anonymous and token clients still
 * connect); an unverified certificate authenticates nobody. One connection
 * carries one certificate, so its identity is read once per socket.
 */
export class X509Authenticator implements Authenticator {
  private readonly bySocket = new WeakMap<tls.TLSSocket, UserInfo | null>();

  async authenticate(req: http.IncomingMessage): Promise<UserInfo | undefined> {
    const socket = req.socket as tls.TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function') return undefined;
    let user = this.bySocket.get(socket);
    if (user === undefined) {
      user = null;
      if (socket.authorized) {
        const id = identityOf(socket.getPeerCertificate() as { subject?: Record<string, string | string[]> });
        if (id) user = { username: id.user, groups: id.groups };
      }
      this.bySocket.set(socket, user);
    }
    return user ?? undefined;
  }
}

/**
 * `Authorization: Bearer <token>`: asked of each token authenticator in turn.
 * A token that none accepts is a 401, never a fall-back to anonymous (kube).
 */
export class BearerTokenAuthenticator implements Authenticator {
  constructor(private readonly tokens: TokenAuthenticator[]) {}

  async authenticate(req: http.IncomingMessage): Promise<UserInfo | undefined> {
    const h = req.headers.authorization;
    if (!h) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return undefined;
    for (const t of this.tokens) {
      const user = await t.authenticateToken(m[1]);
      if (user) return user;
    }
    throw errors.unauthorized();
  }
}

/** Tries each in order; the first that names a user wins, the first that throws refuses the request. */
export class UnionAuthenticator implements Authenticator {
  constructor(private readonly list: Authenticator[]) {}

  async authenticate(req: http.IncomingMessage): Promise<UserInfo | undefined> {
    for (const a of this.list) {
      const u = await a.authenticate(req);
      if (u) return u;
    }
    return undefined;
  }
}
