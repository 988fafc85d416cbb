import { describe, expect, it } from 'vitest';
import type { Container, PodSpec } from './types.js';
import { podQOSClass } from './qos.js';

const c = (name: string, resources?: Container['resources']): Container => ({ name, image: 'busybox', resources });
const spec = (containers: Container[], initContainers?: Container[]): PodSpec => ({ containers, initContainers }) as PodSpec;
const both = (cpu: string, memory: string) => ({ cpu, memory });

describe('podQOSClass (ComputePodQOS)', () => {
  it('is BestEffort without cpu or memory requests and limits, other resources aside', () => {
    expect(podQOSClass(spec([c('a'), c('b', { requests: { 'ephemeral-storage': '1Gi' } })]))).toBe('BestEffort');
    expect(podQOSClass(spec([c('a', { requests: { cpu: '0' }, limits: { memory: '0' } })]))).toBe('BestEffort');
  });
  it('is Guaranteed when every container limits cpu and memory and requests equal limits', () => {
    expect(podQOSClass(spec([c('a', { requests: both('100m', '64Mi'), limits: both('0.1', '67108864') })]))).toBe('Guaranteed');
    // Sums are compared, not containers one by one.
    expect(podQOSClass(spec([
      c('a', { requests: both('100m', '64Mi'), limits: both('200m', '64Mi') }),
      c('b', { requests: both('300m', '64Mi'), limits: both('200m', '64Mi') }),
    ]))).toBe('Guaranteed');
  });
  it('is Burstable when limits are missing, partial or differ from requests', () => {
    expect(podQOSClass(spec([c('a', { requests: { cpu: '100m' } })]))).toBe('Burstable');
    expect(podQOSClass(spec([c('a', { requests: both('100m', '64Mi'), limits: both('200m', '64Mi') })]))).toBe('Burstable');
    expect(podQOSClass(spec([c('a', { limits: { cpu: '1' }, requests: { cpu: '1' } })]))).toBe('Burstable');
    // Limits without requests are not Guaranteed here; pod defaulting copies limits into requests first.
    expect(podQOSClass(spec([c('a', { limits: both('1', '1Gi') })]))).toBe('Burstable');
    expect(podQOSClass(spec([c('a', { limits: both('1', '1Gi'), requests: both('1', '1Gi') })]))).toBe('Guaranteed');
  });
  it('counts init containers: one without limits makes a Guaranteed app container Burstable', () => {
    const app = c('a', { requests: both('1', '1Gi'), limits: both('1', '1Gi') });
    expect(podQOSClass(spec([app], [c('init')]))).toBe('Burstable');
    expect(podQOSClass(spec([app], [c('init', { requests: both('1', '1Gi'), limits: both('1', '1Gi') })]))).toBe('Guaranteed');
  });
});
