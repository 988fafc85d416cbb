import { describe, expect, it } from 'vitest';
import { isGlobalUnicast, proxyPathOf, splitSchemeNamePort } from './resourceproxy.js';

describe('splitSchemeNamePort (utilnet)', () => {
  it('reads name, name:port and scheme:name:port', () => {
    expect(splitSchemeNamePort('web')).toEqual({ scheme: '', name: 'web', port: '' });
    expect(splitSchemeNamePort('web:80')).toEqual({ scheme: '', name: 'web', port: '80' });
    expect(splitSchemeNamePort('https:web:https')).toEqual({ scheme: 'https', name: 'web', port: 'https' });
  });
  it('refuses other schemes, empty names and more parts', () => {
    for (const id of ['ftp:web:21', ':80', 'a:b:c:d', '']) expect(splitSchemeNamePort(id), id).toBeUndefined();
  });
});

describe('isGlobalUnicast (Go net.IP)', () => {
  it('allows private and public unicast, refuses loopback, link-local, multicast, broadcast, unspecified', () => {
    for (const ip of ['10.0.0.1', '172.17.0.2', '192.168.1.1', '2001:db8::1', 'fd00::1']) expect(isGlobalUnicast(ip), ip).toBe(true);
    for (const ip of ['127.0.0.1', '169.254.1.1', '224.0.0.1', '255.255.255.255', '0.0.0.0', '::1', '::', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', 'web']) expect(isGlobalUnicast(ip), ip).toBe(false);
  });
});

describe('proxyPathOf', () => {
  it('keeps the path after /proxy escaped, with its query', () => {
    expect(proxyPathOf('/api/v1/namespaces/d/pods/p:80/proxy/a%2Fb/c?x=1', 'pods')).toEqual({ path: '/a%2Fb/c', query: '?x=1' });
    expect(proxyPathOf('/api/v1/namespaces/d/services/s/proxy/', 'services')).toEqual({ path: '/', query: '' });
    expect(proxyPathOf('/api/v1/nodes/n/proxy?q', 'nodes')).toEqual({ path: '', query: '?q' });
    // A pod named "proxy" in a namespace named "pods" is still found by position.
    expect(proxyPathOf('/api/v1/namespaces/pods/pods/proxy/proxy/x', 'pods')).toEqual({ path: '/x', query: '' });
  });
});
