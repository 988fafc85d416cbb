import { describe, expect, it } from 'vitest';
import type http from 'node:http';
import { checkUpgradeOrigin, originAllowed, ownOrigin } from './origin.js';

function req(headers: Record<string, string>, encrypted = true): http.IncomingMessage {
  return { headers, socket: { encrypted } } as unknown as http.IncomingMessage;
}

describe('upgrade Origin check', () => {
  it('takes the server\'s own origin from the Host header and the connection\'s scheme', () => {
    expect(ownOrigin(req({ host: '127.0.0.1:6443' }))).toBe('https://127.0.0.1:6443');
    expect(ownOrigin(req({ host: 'Node-1.Example:10250' }))).toBe('https://node-1.example:10250');
    expect(ownOrigin(req({ host: '[::1]:10250' }))).toBe('https://[::1]:10250');
    expect(ownOrigin(req({ host: 'kubelet:443' }))).toBe('https://kubelet');
    expect(ownOrigin(req({ host: '127.0.0.1:8080' }, false))).toBe('http://127.0.0.1:8080');
    expect(ownOrigin(req({}))).toBeUndefined();
  });

  it('lets a request without Origin through (kubectl and the client libraries send none)', () => {
    expect(originAllowed(req({ host: '127.0.0.1:6443' }))).toBe(true);
    expect(checkUpgradeOrigin(req({ host: '127.0.0.1:6443' }))).toBeUndefined();
  });

  it('lets the server\'s own origin through, case and default port notwithstanding', () => {
    expect(originAllowed(req({ host: '127.0.0.1:6443', origin: 'https://127.0.0.1:6443' }))).toBe(true);
    expect(originAllowed(req({ host: 'NODE:443', origin: 'https://node' }))).toBe(true);
    expect(originAllowed(req({ host: 'node', origin: 'HTTPS://Node:443' }))).toBe(true);
  });

  it('refuses any other origin with 403', () => {
    const foreign = [
      'https://evil.example',
      'http://127.0.0.1:6443', // same host and port, other scheme
      'https://127.0.0.1:6444',
      'https://127.0.0.1',
      'null',
      'not a url',
      'https://127.0.0.1:6443/path',
      'https://127.0.0.1:6443/',
      'https://user@127.0.0.1:6443',
      'https://127.0.0.1:6443, https://evil.example',
      '',
    ];
    for (const origin of foreign) {
      const r = req({ host: '127.0.0.1:6443', origin });
      expect(originAllowed(r), origin).toBe(false);
      const e = checkUpgradeOrigin(r)!;
      expect(e.code).toBe(403);
      expect(e.status.reason).toBe('Forbidden');
    }
  });

  it('refuses an Origin when the request names no Host to compare it with', () => {
    expect(originAllowed(req({ origin: 'https://127.0.0.1:6443' }))).toBe(false);
  });
});
