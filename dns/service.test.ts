import { describe, expect, it } from 'vitest';
import { nthAddress } from './service.js';

describe('nthAddress', () => {
  it('is kubeadm\'s DNS IP: the 10th address of the service range', () => {
    expect(nthAddress('10.96.0.0/12', 10)).toBe('10.96.0.10');
    expect(nthAddress('172.20.255.0/24', 10)).toBe('172.20.255.10');
    expect(() => nthAddress('10.0.0.0/29', 10)).toThrow(/no address number 10/);
  });
});
