// Cross-site protection for WebSocket and SPDY upgrades (exec, attach,
// port-forward), on the API server and on the kubelet. A browser lets any web
// page open a WebSocket to any address and sends the page's Origin with it,
// along with whatever credentials it holds for that address (a client
// certificate, a cookie); without this check a page open on the machine could
// exec into pods. Browsers always send Origin on a WebSocket handshake; kubectl
// and the official clients send none, so an upgrade without Origin is a
// non-browser client and passes. Kubernetes itself does not check (its
// wsstream handshake ignores Origin); gorilla/websocket's default
// checkSameOrigin is the model: the Origin must name the request's own Host.

import type http from 'node:http';
import type tls from 'node:tls';
import { errors, StatusError } from '../api/errors.js';

/** scheme://host[:port] of the request as this server received it (the default port for the scheme left out, as browsers write origins). */
export function ownOrigin(req: http.IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (!host) return undefined;
  const scheme = (req.socket as tls.TLSSocket).encrypted ? 'https' : 'http';
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether an upgrade may proceed: no Origin (not a browser), or an Origin
 * equal to the server's own. "null" (sandboxed frames, file: pages), a
 * malformed Origin, several Origins, or a request without Host never match.
 */
export function originAllowed(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const own = ownOrigin(req);
  if (!own) return false;
  let theirs: string;
  try {
    const u = new URL(origin);
    // An origin is scheme://host[:port] and nothing more.
    if (u.pathname !== '/' || u.search || u.hash || u.username || u.password || origin.trim().endsWith('/')) return false;
    theirs = u.origin;
  } catch {
    return false;
  }
  return theirs === own;
}

/** The refusal as a Status (403), or undefined when the upgrade may proceed. */
export function checkUpgradeOrigin(req: http.IncomingMessage): StatusError | undefined {
  if (originAllowed(req)) return undefined;
  return errors.forbidden(`the request's Origin ${JSON.stringify(String(req.headers.origin))} is not this server's own: cross-site WebSocket and SPDY upgrades are refused`);
}
