import { describe, expect, it } from 'vitest';
import { CIDRSet } from './cidrset.js';

describe('CIDRSet', () => {
  it('hands out node-sized subnets in order, round from the last one, and refuses with kube\'s message when full', () => {
    const s = new CIDRSet('10.244.0.0/22', 24);
    expect([s.allocateNext(), s.allocateNext(), s.allocateNext(), s.allocateNext()]).toEqual(['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']);
    expect(() => s.allocateNext()).toThrow('CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range');
    s.release('10.244.1.0/24');
    expect(s.allocateNext()).toBe('10.244.1.0/24');
    expect(s.usage()).toEqual({ used: 4, max: 4 });
  });

  it('does not give a released subnet at once to the next node: allocation goes on after the last one', () => {
    const s = new CIDRSet('10.244.0.0/16', 24);
    s.allocateNext();
    const second = s.allocateNext();
    s.release(second);
    expect(s.allocateNext()).toBe('10.244.2.0/24');
  });

  it('occupies what existing nodes hold, a wider CIDR as every subnet it covers, and skips them', () => {
    const s = new CIDRSet('10.244.0.0/16', 24);
    s.occupy('10.244.0.0/24');
    s.occupy('10.244.2.0/23');
    expect(s.isUsed('10.244.3.0/24')).toBe(true);
    expect([s.allocateNext(), s.allocateNext()]).toEqual(['10.244.1.0/24', '10.244.4.0/24']);
  });

  it('refuses CIDRs outside the cluster CIDR and bad mask sizes', () => {
    const s = new CIDRSet('10.244.0.0/16', 24);
    expect(() => s.occupy('10.245.0.0/24')).toThrow('is out the range of cluster cidr 10.244.0.0/16');
    expect(() => new CIDRSet('10.244.0.0/16', 8)).toThrow('mask size');
    expect(() => new CIDRSet('10.0.0.0/8', 28)).toThrow('the node CIDR size is too big');
    expect(() => new CIDRSet('10.0.0.0/33', 24)).toThrow('invalid CIDR');
  });
});
