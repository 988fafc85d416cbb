import { describe, expect, it } from 'vitest';
import { checkSupportedFields, parseFieldSelector, selectableFields } from './fields.js';
import { R } from './resources.js';
import { StatusError } from './errors.js';

describe('field selectors', () => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1', containers: [] }, status: { phase: 'Running' } };

  it('matches =, == and !=', () => {
    const f = selectableFields(R.pods, pod);
    expect(parseFieldSelector('spec.nodeName=n1,status.phase==Running').matches(f)).toBe(true);
    expect(parseFieldSelector('spec.nodeName!=n1').matches(f)).toBe(false);
    expect(parseFieldSelector('spec.nodeName=').matches(selectableFields(R.pods, { metadata: { name: 'q' }, spec: {} }))).toBe(true);
    expect(parseFieldSelector('metadata.namespace=ns,metadata.name=p').matches(f)).toBe(true);
  });

  it('rejects bad syntax', () => {
    expect(() => parseFieldSelector('spec.nodeName')).toThrow("invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'");
  });

  it('unsupported field is a 400 with upstream wording', () => {
    let err: unknown;
    try {
      checkSupportedFields(R.pods, parseFieldSelector('spec.foo=x'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(400);
    expect((err as StatusError).message).toBe('field label not supported: spec.foo');
    expect(() => checkSupportedFields(R.nodes, parseFieldSelector('spec.unschedulable=true'))).not.toThrow();
    expect(() => checkSupportedFields(R.configmaps, parseFieldSelector('status.phase=x'))).toThrow('field label not supported');
  });

  it('event fields', () => {
    const f = selectableFields(R.events, { metadata: { name: 'e', namespace: 'd' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'Started', type: 'Normal', source: { component: 'kubelet' } });
    expect(parseFieldSelector('involvedObject.kind=Pod,involvedObject.name=p,reason=Started,source=kubelet,type=Normal').matches(f)).toBe(true);
  });
});
