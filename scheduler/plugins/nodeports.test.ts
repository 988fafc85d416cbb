import { describe, expect, it } from 'vitest';
import { newCycleContext } from '../framework.js';
import { makeNode, makeNodeInfo, makePod } from '../testing.js';
import { nodePorts } from './nodeports.js';

describe('NodePorts', () => {
  const reason = "node(s) didn't have free ports for the requested pod ports";

  it('rejects a node where the hostPort is taken and admits one where it is free', () => {
    const pod = makePod('p', { hostPort: 8080 });
    const ctx = newCycleContext(pod);
    expect(nodePorts.filter(ctx, pod, makeNodeInfo(makeNode('n'), makePod('other', { hostPort: 8080 })))).toEqual({ code: 'Unschedulable', reasons: [reason] });
    expect(nodePorts.filter(ctx, pod, makeNodeInfo(makeNode('n'), makePod('other', { hostPort: 8081 })))).toBeNull();
  });

  it('frees the port when the pod using it leaves', () => {
    const pod = makePod('p', { hostPort: 8080 });
    const other = makePod('other', { hostPort: 8080 });
    const ni = makeNodeInfo(makeNode('n'), other);
    ni.removePod(other);
    expect(nodePorts.filter(newCycleContext(pod), pod, ni)).toBeNull();
  });

  it('treats different host IPs as distinct unless one is 0.0.0.0', () => {
    const on = (ip: string) => {
      const p = makePod(`p-${ip}`);
      p.spec.containers[0].ports = [{ containerPort: 80, hostPort: 9000, hostIP: ip }];
      return p;
    };
    const ni = makeNodeInfo(makeNode('n'), on('127.0.0.1'));
    const other = on('127.0.0.2');
    expect(nodePorts.filter(newCycleContext(other), other, ni)).toBeNull();
    const any = on('0.0.0.0');
    expect(nodePorts.filter(newCycleContext(any), any, ni)?.reasons).toEqual([reason]);
  });
});
