import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { nodeName } from './nodename.js';

describe('NodeName', () => {
  it('admits only the named node when spec.nodeName is set', () => {
    const pod = makePod('p', { nodeName: 'n2' });
    const ctx = newCycleContext(pod);
    expect(nodeName.filter(ctx, pod, makeNodeInfo(makeNode('n2')))).toBeNull();
    expect(nodeName.filter(ctx, pod, makeNodeInfo(makeNode('n1')))).toEqual({ code: 'UnschedulableAndUnresolvable', reasons: ["node(s) didn't match the requested node name"] });
  });

  it('admits any node when no name is requested', () => {
    const pod = makePod('p');
    expect(nodeName.filter(newCycleContext(pod), pod, makeNodeInfo(makeNode('n1')))).toBeNull();
  });
});
