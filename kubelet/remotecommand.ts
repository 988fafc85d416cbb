// The kubelet's /exec and /attach over SPDY/3.1, as kube's remotecommand
// server (pkg/kubelet/cri/streaming/remotecommand/httpstream.go) serves
// them: kubectl up to 1.29 speaks only this, and 1.30+ falls back to it when
// its WebSocket attempt fails. The client negotiates one of v4, v3, v2 or v1
// (X-Stream-Protocol-Version), then opens one SPDY stream per channel, named
// by its streamtype header: error, stdin, stdout, stderr and (tty, v3+)
// resize. Once every stream the query asked for is there, the session runs.
//
// The session itself (which container, tty, the runtime call, the exit
// status) is the one the WebSocket path runs (server.ts): this module hands it
// a ChannelSocket that looks like the WebSocket channel protocol (a frame is
// its channel byte and data), so there is one implementation of exec and
// attach for both transports.

import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { errors, StatusError } from '../api/errors.js';
import { logger } from '../lib/log.js';
import { SpdyConnection, type SpdyStream } from './spdy.js';

const log = logger('kubelet-remotecommand');

/** What the exec/attach session needs of its transport: WebSocket channel frames (first byte the channel). */
export interface ChannelSocket {
  readonly protocol: string;
  readonly readyState: number;
  readonly OPEN: number;
  send(data: Buffer): void;
  close(code?: number): void;
  on(event: 'message', cb: (data: Buffer) => void): unknown;
  on(event: 'close', cb: () => void): unknown;
}

/** The SPDY protocols the kubelet serves, newest first (kube's SupportedStreamingProtocols). */
export const SPDY_STREAM_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
/** The kubelet's default streamCreationTimeout: every expected stream must arrive within it. */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
type StreamType = keyof typeof Channel;

function reject(socket: Duplex, st: StatusError): void {
  const body = JSON.stringify(st.status);
  socket.end(`HTTP/1.1 ${st.status.code} ${http.STATUS_CODES[st.status.code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The protocols a client offers in X-Stream-Protocol-Version (repeated or comma-joined), in its order. */
export function offeredProtocols(req: http.IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === 'x-stream-protocol-version') out.push(...req.rawHeaders[i + 1].split(',').map((s) => s.trim()).filter(Boolean));
  }
  return out;
}

/** httpstream's negotiateProtocol: the first the client offers that the server has. */
export function negotiate(offered: string[], supported: string[] = SPDY_STREAM_PROTOCOLS): string | undefined {
  return offered.find((p) => supported.includes(p));
}

const flag = (q: URLSearchParams, name: string) => q.get(name) === '1' || q.get(name) === 'true';

/**
 * One SPDY remotecommand connection as a ChannelSocket: frames the session
 * sends go to the stream of their channel; what the client sends on stdin
 * and resize comes back as frames. A v4 error stream carries the session's
 * Status as JSON; v1-v3 carry only a failure's message as text.
 */
class SpdyChannels extends EventEmitter implements ChannelSocket {
  readonly OPEN = 1;
  readyState = 1;
  private readonly streams = new Map<StreamType, SpdyStream>();
  private resizeBuf = '';

  constructor(readonly spdyProtocol: string, private readonly conn: SpdyConnection) {
    super();
    conn.on('close', () => this.shut());
  }

  /**
   * The session sees v5 framing whatever version runs underneath: resize
   * frames, a Status on channel 3, and the close frame for stdin, which is
   * what the end of a SPDY stdin stream means.
   */
  readonly protocol = 'v5.channel.k8s.io';

  add(type: StreamType, s: SpdyStream): void {
    this.streams.set(type, s);
    s.on('error', () => {});
    if (type === 'stdin') {
      s.on('data', (d: Buffer) => this.emit('message', Buffer.concat([Buffer.from([Channel.stdin]), d])));
      // The client closes its stdin stream at the end of its input: the v5 close frame says the same to the session.
      s.on('end', () => this.emit('message', Buffer.from([255, Channel.stdin])));
    } else if (type === 'resize') {
      s.on('data', (d: Buffer) => {
        // A json.Encoder's values, one per line.
        this.resizeBuf += d.toString();
        let i: number;
        while ((i = this.resizeBuf.indexOf('\n')) >= 0) {
          const line = this.resizeBuf.slice(0, i).trim();
          this.resizeBuf = this.resizeBuf.slice(i + 1);
          if (line) this.emit('message', Buffer.concat([Buffer.from([Channel.resize]), Buffer.from(line)]));
        }
      });
    } else {
      // error, stdout and stderr carry nothing from the client; reading keeps the connection flowing.
      s.resume();
    }
  }

  has(type: StreamType): boolean {
    return this.streams.has(type);
  }

  send(frame: Buffer): void {
    if (this.readyState !== this.OPEN || !frame.length) return;
    const ch = frame[0];
    const data = frame.subarray(1);
    if (ch === Channel.stdout || ch === Channel.stderr) {
      const s = this.streams.get(ch === Channel.stdout ? 'stdout' : 'stderr');
      if (s && !s.writableEnded && !s.destroyed) s.write(data);
      return;
    }
    if (ch !== Channel.error) return;
    const s = this.streams.get('error');
    if (!s || s.writableEnded || s.destroyed) return;
    if (this.spdyProtocol === 'v4.channel.k8s.io') {
      // v4WriteStatusFunc: the Status as JSON, success included.
      s.write(data);
    } else {
      const st = JSON.parse(data.toString()) as { status?: string; message?: string };
      if (st.status !== 'Success') s.write(st.message ?? 'error');
    }
  }

  /** Output streams half-close first, so the client's copies end, then the error stream; then the connection goes. */
  close(): void {
    if (this.readyState !== this.OPEN) return;
    this.readyState = 3;
    for (const t of ['stdout', 'stderr', 'error'] as const) {
      const s = this.streams.get(t);
      if (s && !s.writableEnded && !s.destroyed) s.end();
    }
    // kube's server closes the connection once the session returns; the FINs above are already queued ahead of it.
    setImmediate(() => this.conn.goAway());
    this.emit('close');
  }

  private shut(): void {
    if (this.readyState === this.OPEN) {
      this.readyState = 3;
      this.emit('close');
    }
  }
}

/**
 * Answers a SPDY upgrade for /exec or /attach and runs `session` once the
 * streams the query asks for have been opened. The socket is the client's
 * (or the API server's, which relays it byte for byte).
 */
export function serveRemoteCommandSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, q: URLSearchParams, session: (ch: ChannelSocket) => void): void {
  if (!(req.headers.upgrade ?? '').toLowerCase().split(',').map((s) => s.trim()).includes('spdy/3.1')) {
    return reject(socket, errors.badRequest('unable to upgrade: missing upgrade headers in request'));
  }
  const offered = offeredProtocols(req);
  // httpstream.Handshake: a client naming no protocol is a legacy v1 client.
  const protocol = offered.length ? negotiate(offered) : 'channel.k8s.io';
  if (!protocol) {
    return reject(socket, errors.forbidden(`unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server accepts ${JSON.stringify(SPDY_STREAM_PROTOCOLS)}`));
  }
  const stdin = flag(q, 'stdin');
  const stdout = flag(q, 'stdout');
  const tty = flag(q, 'tty');
  const stderr = flag(q, 'stderr') && !tty;
  if (!stdin && !stdout && !stderr) {
    return reject(socket, errors.badRequest('you must specify at least 1 of stdin, stdout, stderr'));
  }
  socket.write([
    'HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1',
    ...(offered.length ? [`X-Stream-Protocol-Version: ${protocol}`] : []), '', '',
  ].join('\r\n'));
  const conn = new SpdyConnection(socket, head);
  const channels = new SpdyChannels(protocol, conn);
  const expected: StreamType[] = ['error', ...(stdin ? ['stdin' as const] : []), ...(stdout ? ['stdout' as const] : []), ...(stderr ? ['stderr' as const] : []),
    ...(tty && protocol !== 'channel.k8s.io' && protocol !== 'v2.channel.k8s.io' ? ['resize' as const] : [])];
  let started = false;
  const timer = setTimeout(() => {
    if (started) return;
    log.debug('remotecommand streams did not all arrive', { expected, url: req.url });
    conn.goAway();
  }, STREAM_CREATION_TIMEOUT_MS);
  timer.unref();
  conn.on('close', () => clearTimeout(timer));
  conn.on('stream', (s) => {
    const type = s.header('streamtype') as StreamType | undefined;
    // An unknown stream type is refused (kube: "unexpected stream type"); a stream the query did not ask for is tolerated.
    if (!type || !(type in Channel) || channels.has(type)) {
      s.reset();
      return;
    }
    s.reply();
    channels.add(type, s);
    if (!started && expected.every((t) => channels.has(t))) {
      started = true;
      clearTimeout(timer);
      session(channels);
    }
  });
}
