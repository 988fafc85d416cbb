// The API server's metrics, named as kube-apiserver names them
// (etcd_request_duration_seconds lives with the etcd storage that measures it).

import { counter, gauge, histogram } from '../lib/metrics.js';

export const requestTotal = counter({
  name: 'apiserver_request_total',
  help: 'Counter of apiserver requests broken out for each verb, group, version, resource, scope, subresource and HTTP response code.',
  labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'code'] as const,
});

export const requestDuration = histogram({
  name: 'apiserver_request_duration_seconds',
  help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.',
  labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 5, 10, 30, 60],
});

export const registeredWatchers = gauge({
  name: 'apiserver_registered_watchers',
  help: 'Number of currently registered watchers for a given resource.',
  labelNames: ['group', 'version', 'kind'] as const,
});

export const terminatedWatchers = counter({
  name: 'apiserver_terminated_watchers_total',
  help: 'Counter of watchers closed due to unresponsiveness broken by group and resource.',
  labelNames: ['group', 'resource'] as const,
});

export const longrunningRequests = gauge({
  name: 'apiserver_longrunning_requests',
  help: 'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.',
  labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope'] as const,
});

export const storageObjects = gauge({
  name: 'apiserver_storage_objects',
  help: 'Number of stored objects at the time of last check split by kind.',
  labelNames: ['resource'] as const,
});
