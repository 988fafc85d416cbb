import { describe, expect, it } from 'vitest';
import { cleanupRestore } from './cleanup.js';

describe('cleanupRestore', () => {
  it('deletes jumps from built-in chains and every KUBE- chain, leaving Docker alone', () => {
    const nat = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-SVC-ABC - [0:0]',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-ABC',
      'COMMIT',
    ].join('\n');
    expect(cleanupRestore({ filter: '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', nat })).toBe([
      '*nat',
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-SVC-ABC - [0:0]',
      '-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-X KUBE-SERVICES',
      '-X KUBE-SVC-ABC',
      'COMMIT',
      '',
    ].join('\n'));
    expect(cleanupRestore({ filter: '', nat: '' })).toBe('');
  });

  it('removes only the chains and jumps of its own prefix: another cluster\'s kube-proxy keeps its rules', () => {
    const nat = [
      '*nat',
      ':KUBE-SERVICES - [0:0]',
      ':KABCDEF-SERVICES - [0:0]',
      ':KABCDEF-SVC-XYZ - [0:0]',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KABCDEF-SERVICES',
      'COMMIT',
    ].join('\n');
    const text = cleanupRestore({ filter: '', nat }, 'KABCDEF');
    expect(text.split('\n').filter((l) => /^[-:]/.test(l))).toEqual([
      ':KABCDEF-SERVICES - [0:0]',
      ':KABCDEF-SVC-XYZ - [0:0]',
      '-D PREROUTING -m comment --comment "kubernetes service portals" -j KABCDEF-SERVICES',
      '-X KABCDEF-SERVICES',
      '-X KABCDEF-SVC-XYZ',
    ]);
    expect(cleanupRestore({ filter: '', nat })).not.toContain('KABCDEF');
  });
});
