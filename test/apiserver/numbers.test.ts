// Numbers as Go decodes them (issue #11 item 3): int32 and int64 fields take
// only integers in range, 1e400 (Infinity to JSON.parse) is never stored as
// null, and quantities must parse. Against the compiled API server on etcd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, deployment } from './helpers.js';

let srv: ApiServerProcess;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  srv = await startApiServer();
  api = client(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

const deploys = '/apis/apps/v1/namespaces/default/deployments';
const rsets = '/apis/apps/v1/namespaces/default/replicasets';

/** A body with `replicas` spliced in as raw JSON text, so 9223372036854775808 and 1e400 reach the server as written. */
function withReplicas(obj: any, raw: string): string {
  return JSON.stringify({ ...obj, spec: { ...obj.spec, replicas: 7 } }).replace('"replicas":7', `"replicas":${raw}`);
}

describe('integer fields', () => {
  for (const raw of ['2147483648', '9223372036854775808', '1e400', '1.5', '-2147483649']) {
    it(`a Deployment or ReplicaSet with replicas ${raw} is refused and not stored`, async () => {
      const name = `n-${raw.replace(/[^0-9a-z]/g, '')}`;
      const d = deployment(name);
      const created = await api.post(deploys, withReplicas(d, raw));
      expect(created.status, created.text).toBe(422);
      expect(created.body.details.causes.map((c: { field: string }) => c.field)).toContain('spec.replicas');
      expect((await api.get(`${deploys}/${name}`)).status).toBe(404);

      const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name }, spec: d.spec };
      const rsCreated = await api.post(rsets, withReplicas(rs, raw));
      expect(rsCreated.status, rsCreated.text).toBe(422);
      expect((await api.get(`${rsets}/${name}`)).status).toBe(404);
    });
  }

  it('the largest int32 is accepted', async () => {
    const created = await api.post(deploys, withReplicas(deployment('n-max'), '2147483647'));
    expect(created.status, created.text).toBe(201);
    expect(created.body.spec.replicas).toBe(2147483647);
    expect((await api.del(`${deploys}/n-max`)).status).toBe(200);
  });

  it('the scale subresource and patches refuse out-of-range replicas and leave the object as it was', async () => {
    expect((await api.post(deploys, deployment('n-scale'))).status).toBe(201);
    const scale = `${deploys}/n-scale/scale`;
    const body = (raw: string) => `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"n-scale","namespace":"default"},"spec":{"replicas":${raw}}}`;
    for (const raw of ['2147483648', '9223372036854775808', '1e400', '2.5']) {
      const put = await api.put(scale, body(raw));
      expect(put.status, `PUT scale ${raw}: ${put.text}`).toBe(422);
      const patched = await api.patch(scale, `{"spec":{"replicas":${raw}}}`);
      expect(patched.status, `PATCH scale ${raw}: ${patched.text}`).toBe(422);
      const direct = await api.patch(`${deploys}/n-scale`, `{"spec":{"replicas":${raw}}}`);
      expect(direct.status, `PATCH deployment ${raw}: ${direct.text}`).toBe(422);
    }
    const got = await api.get(`${deploys}/n-scale`);
    expect(got.body.spec.replicas).toBe(1);
    expect((await api.put(scale, body('3'))).status).toBe(200);
    expect((await api.get(`${deploys}/n-scale`)).body.spec.replicas).toBe(3);
  });

  it('an int64 field beyond 2^63 - 1 is refused', async () => {
    const pod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"n-int64"},"spec":{"activeDeadlineSeconds":9223372036854775808,"containers":[{"name":"c","image":"busybox"}]}}`;
    const created = await api.post('/api/v1/namespaces/default/pods', pod);
    expect(created.status, created.text).toBe(422);
    expect(created.body.details.causes[0]).toMatchObject({ field: 'spec.activeDeadlineSeconds', message: expect.stringContaining('must be of type int64') });
  });
});

describe('quantities', () => {
  it('a quantity a double cannot hold, or that does not parse, is 422 with upstream\'s message', async () => {
    for (const q of ['1e1000', '12Qi']) {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'n-q' }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { limits: { cpu: q } } }] } };
      const created = await api.post('/api/v1/namespaces/default/pods', pod);
      expect(created.status, created.text).toBe(422);
      expect(created.body.message).toContain("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    }
  });

  it('a negative node capacity or allocatable is 422, as ValidateNode', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n-node' } };
    expect((await api.post('/api/v1/nodes', node)).status).toBe(201);
    const status = await api.patch('/api/v1/nodes/n-node/status', { status: { capacity: { cpu: '-4' }, allocatable: { memory: '-1Gi' } } });
    expect(status.status, status.text).toBe(422);
    expect(status.body.details.causes).toEqual(expect.arrayContaining([
      expect.objectContaining({ field: 'status.capacity.cpu', message: 'Invalid value: "-4": must be greater than or equal to 0' }),
      expect.objectContaining({ field: 'status.allocatable.memory', message: 'Invalid value: "-1Gi": must be greater than or equal to 0' }),
    ]));
    const ok = await api.patch('/api/v1/nodes/n-node/status', { status: { capacity: { cpu: '4' } } });
    expect(ok.status, ok.text).toBe(200);
  });
});
