// Values Kubernetes refuses that Skiff once stored (issue #11 item 4):
// negative durations and counts, environment variable names, and pods/log
// parameters that are not numbers or are out of range. Each is a named
// regression against the real API server: kube's code, reason and message,
// and nothing stored.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServerProcess } from '../util/apiserver.js';
import { client, pod } from './helpers.js';

let srv: ApiServerProcess;
let api: ReturnType<typeof client>;
const pods = '/api/v1/namespaces/default/pods';

beforeAll(async () => {
  srv = await startApiServer();
  api = client(srv.url);
});
afterAll(async () => {
  await srv?.stop();
});

/** A pod whose one container has `extra` merged in. */
const podWith = (name: string, extra: Record<string, unknown>) => {
  const p = pod(name);
  return { ...p, spec: { ...p.spec, containers: [{ ...p.spec.containers[0], ...extra }] } };
};

describe('limits kube enforces', () => {
  it('refuses a Lease with a non-positive duration or negative transitions', async () => {
    const lease = (spec: Record<string, unknown>) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec });
    const r = await api.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', lease({ leaseDurationSeconds: -5 }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('Lease.coordination.k8s.io "l" is invalid: spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0');
    expect((await api.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', lease({ leaseDurationSeconds: 0 }))).status).toBe(422);
    expect((await api.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', lease({ leaseTransitions: -1 }))).status).toBe(422);
    expect((await api.get('/apis/coordination.k8s.io/v1/namespaces/default/leases/l')).status).toBe(404);
  });

  it('refuses negative probe periods and thresholds and a non-positive probe grace period', async () => {
    const r = await api.post(pods, podWith('probe', { livenessProbe: { exec: { command: ['true'] }, periodSeconds: -1 } }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('Pod "probe" is invalid: spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0');
    expect((await api.post(pods, podWith('probe', { readinessProbe: { exec: { command: ['true'] }, failureThreshold: -3 } }))).status).toBe(422);
    expect((await api.post(pods, podWith('probe', { startupProbe: { exec: { command: ['true'] }, terminationGracePeriodSeconds: 0 } }))).status).toBe(422);
    expect((await api.get(`${pods}/probe`)).status).toBe(404);
  });

  it('refuses empty environment variable names and names with "=", as kube 1.32 validates them', async () => {
    const r = await api.post(pods, podWith('env', { env: [{ name: 'A=B', value: 'x' }] }));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('Pod "env" is invalid: spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than \'=\'');
    expect((await api.post(pods, podWith('env', { env: [{ name: '', value: 'x' }] }))).body.message).toBe('Pod "env" is invalid: spec.containers[0].env[0].name: Required value');
    expect((await api.post(pods, podWith('env', { env: [{ name: 'my.env-name 1', value: 'x' }] }))).status).toBe(201);
  });

  it('answers pods/log parameters that are not numbers 400 and out-of-range ones 422, before asking any kubelet', async () => {
    expect((await api.post(pods, { ...pod('logs'), spec: { ...pod('logs').spec, nodeName: 'nowhere' } })).status).toBe(201);
    const notNumber = await api.get(`${pods}/logs/log?tailLines=abc`);
    expect(notNumber.status).toBe(400);
    expect(notNumber.body.message).toBe('strconv.ParseInt: parsing "abc": invalid syntax');
    for (const [q, msg] of [
      ['tailLines=-1', 'tailLines: Invalid value: -1: must be greater than or equal to 0'],
      ['limitBytes=0', 'limitBytes: Invalid value: 0: must be greater than 0'],
      ['sinceSeconds=-4', 'sinceSeconds: Invalid value: -4: must be greater than 0'],
    ]) {
      const r = await api.get(`${pods}/logs/log?${q}`);
      expect(r.status, q).toBe(422);
      expect(r.body).toMatchObject({ reason: 'Invalid', message: `PodLogOptions "logs" is invalid: ${msg}` });
    }
  });
});
