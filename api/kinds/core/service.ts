// core/v1 Service (pkg/registry/core/service, ValidateService, SetDefaults_Service, printService).

import type { KubeObject, ServicePort } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { objectAt, objects, setIfUnset } from '../../defaults.js';
import { checkName, field, isDNS1035Label, isDNS1123Label, portRange, validateLabels } from '../../schemas/rules.js';
import { age, ageCol, formatLabels, nameCol, orNone } from '../../printing.js';

const ianaSvcName = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

function validateService(obj: KubeObject, old?: KubeObject) {
  const out = [];
  const spec = obj.spec ?? {};
  const ports: { name?: string; port: number; protocol?: string; targetPort?: number | string; nodePort?: number }[] = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) out.push(field.required('spec.externalName'));
  } else if (!ports.length && !headless) out.push(field.required('spec.ports'));
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) out.push(field.required(`${f}.name`));
    if (p.name) {
      out.push(...checkName(`${f}.name`, p.name, isDNS1123Label));
      if (names.has(p.name)) out.push(field.duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    out.push(...portRange(`${f}.port`, p.port));
    if (typeof p.targetPort === 'number') out.push(...portRange(`${f}.targetPort`, p.targetPort));
    else if (typeof p.targetPort === 'string' && !ianaSvcName.test(p.targetPort)) out.push(field.invalid(`${f}.targetPort`, p.targetPort, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'));
    if (p.nodePort) out.push(...portRange(`${f}.nodePort`, p.nodePort));
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (seen.has(key)) out.push(field.duplicate(f, `${p.port}/${p.protocol ?? 'TCP'}`));
    seen.add(key);
  });
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.sessionAffinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (t !== undefined && (t <= 0 || t > 86400)) out.push(field.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
  }
  const oldIP = old?.spec?.clusterIP;
  if (oldIP && spec.clusterIP && spec.clusterIP !== oldIP && spec.type !== 'ExternalName') out.push(field.invalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set'));
  return out;
}

function serviceExternalIP(spec: any, status: any): string {
  const ext: string[] = spec.externalIPs ?? [];
  if (spec.type === 'LoadBalancer') {
    const ips = [...(status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip || i.hostname), ...ext];
    return ips.length ? ips.join(',') : '<pending>';
  }
  if (spec.type === 'ExternalName') return spec.externalName ?? '';
  return ext.length ? ext.join(',') : '<none>';
}

function servicePorts(ports: any[] | undefined): string {
  if (!ports?.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', shortNames: ['svc'], namespaced: true,
    subresources: ['status', 'proxy'], hasStatus: true, categories: ['all'] }),
  zeroValue: () => ({ metadata: {}, spec: {}, status: { loadBalancer: {} } }),

  // ValidateService: a Service's name is a DNS-1035 label (it becomes a DNS name and environment variables).
  nameRule: isDNS1035Label,

  defaults(o) {
    const spec = objectAt(o, 'spec');
    if (!spec) return;
    setIfUnset(spec, 'type', 'ClusterIP');
    if (spec.type !== 'ExternalName') {
      setIfUnset(spec, 'sessionAffinity', 'None');
      setIfUnset(spec, 'internalTrafficPolicy', 'Cluster');
    }
    if (spec.sessionAffinity === 'ClientIP') {
      const clientIP = objectAt(objectAt(spec, 'sessionAffinityConfig') ?? {}, 'clientIP');
      if (clientIP) setIfUnset(clientIP, 'timeoutSeconds', 10800);
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setIfUnset(spec, 'externalTrafficPolicy', 'Cluster');
    for (const p of objects<ServicePort>(spec.ports)) {
      setIfUnset(p, 'protocol', 'TCP');
      setIfUnset(p, 'targetPort', p.port);
    }
    const status = objectAt(o, 'status');
    if (status) objectAt(status, 'loadBalancer');
  },

  validate: (obj, { old }) => validateService(obj, old),

  strategy: { returnDeletedObject: true, prepareForCreate: (s) => { s.status = { loadBalancer: {} }; } },

  proxyLocation: 'service',

  printer: {
    columns: [nameCol,
      ['Type', 'string', 'type determines how the Service is exposed.'],
      ['Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'],
      ['External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'],
      ['Port(s)', 'string', 'The list of ports that are exposed by this service.'],
      ageCol,
      ['Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1]],
    cells: (s, since) => [s.metadata.name, s.spec?.type ?? 'ClusterIP', orNone(s.spec?.clusterIP), serviceExternalIP(s.spec ?? {}, s.status), servicePorts(s.spec?.ports), age(s, since), formatLabels(s.spec?.selector)],
  },
});
