import { describe, expect, it } from 'vitest';
import { requestInfo } from './requestinfo.js';

// Cases from kube's requestinfo_test.go (TestGetAPIRequestInfo), by what they ask of the authorizer.
describe('requestInfo', () => {
  const cases: [string, string, string, Partial<ReturnType<typeof requestInfo>>][] = [
    ['GET', '/api/v1/namespaces', '', { verb: 'list', resource: 'namespaces', namespace: '', name: '' }],
    ['GET', '/api/v1/namespaces/other', '', { verb: 'get', resource: 'namespaces', namespace: 'other', name: 'other' }],
    ['GET', '/api/v1/namespaces/other/pods', '', { verb: 'list', resource: 'pods', namespace: 'other' }],
    ['GET', '/api/v1/namespaces/other/pods/foo', '', { verb: 'get', resource: 'pods', namespace: 'other', name: 'foo' }],
    ['GET', '/api/v1/pods', '', { verb: 'list', resource: 'pods', namespace: '' }],
    ['GET', '/api/v1/namespaces/other/pods', 'watch=true', { verb: 'watch', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/other/pods', 'watch=1', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/other/pods', 'watch=false', { verb: 'list' }],
    // As the handler decodes it (Convert_Slice_string_To_bool): only "0" and "false" in any case are false.
    ['GET', '/api/v1/namespaces/other/pods', 'watch=True', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/other/pods', 'watch=yes', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/other/pods', 'watch', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/other/pods', 'watch=FALSE', { verb: 'list' }],
    ['GET', '/api/v1/watch/namespaces/other/pods', '', { verb: 'watch', resource: 'pods', namespace: 'other' }],
    ['POST', '/api/v1/namespaces/other/pods', '', { verb: 'create' }],
    ['PUT', '/api/v1/namespaces/other/pods/foo', '', { verb: 'update', name: 'foo' }],
    ['PATCH', '/api/v1/namespaces/other/pods/foo', '', { verb: 'patch' }],
    ['DELETE', '/api/v1/namespaces/other/pods/foo', '', { verb: 'delete' }],
    ['DELETE', '/api/v1/namespaces/other/pods', '', { verb: 'deletecollection' }],
    ['PUT', '/api/v1/namespaces/other/finalize', '', { verb: 'update', resource: 'namespaces', name: 'other', subresource: 'finalize' }],
    ['PUT', '/api/v1/namespaces/other/status', '', { verb: 'update', resource: 'namespaces', subresource: 'status' }],
    ['PUT', '/api/v1/namespaces/other/pods/foo/status', '', { verb: 'update', resource: 'pods', subresource: 'status' }],
    ['GET', '/apis/apps/v1/namespaces/ns/deployments/d/scale', '', { apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments', subresource: 'scale', verb: 'get' }],
    ['GET', '/api/v1/namespaces/ns/pods/p/exec', 'command=ls', { verb: 'create', subresource: 'exec' }],
    ['POST', '/api/v1/namespaces/ns/pods/p/portforward', '', { verb: 'create', subresource: 'portforward' }],
    ['GET', '/api/v1/namespaces/ns/pods/p/log', '', { verb: 'get', subresource: 'log' }],
    ['GET', '/api/v1/nodes/n/proxy/stats/summary', '', { verb: 'get', resource: 'nodes', name: 'n', subresource: 'proxy' }],
    ['GET', '/api/v1/namespaces/ns/pods', 'fieldSelector=metadata.name%3Dfoo', { verb: 'list', name: 'foo' }],
  ];
  it.each(cases)('%s %s?%s', (method, path, query, want) => {
    expect(requestInfo(method, path, query)).toMatchObject({ resourceRequest: true, ...want });
  });

  it('reads everything outside /api and /apis/<group>/<version>/ as a non-resource path with the HTTP verb', () => {
    for (const p of ['/', '/healthz', '/version', '/api', '/apis', '/apis/apps', '/api/v1', '/openapi/v3', '/metrics']) {
      expect(requestInfo('GET', p, '')).toMatchObject({ resourceRequest: false, path: p, verb: 'get' });
    }
    expect(requestInfo('POST', '/healthz', '')).toMatchObject({ resourceRequest: false, verb: 'post' });
  });

  it('treats an undecodable path as a non-resource path rather than failing', () => {
    expect(requestInfo('GET', '/api/v1/namespaces/%E0%A4%A/pods', '').resourceRequest).toBe(false);
  });
});
