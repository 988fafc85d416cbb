// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for
// (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with the columns
// kube-apiserver prints for each kind (pkg/printers/internalversion). The
// server always fills the -o wide columns (priority 1); kubectl hides them.

import type { KubeObject } from '../api/types.js';
import { apiVersionOf, kindOf, type Column, type Printer, type ResourceInfo, type Since } from '../api/kind.js';
import { selectorFromLabelSelector } from '../api/labels.js';
import { ageCol, age, containerCells, containerCols, formatLabels, humanDuration, listWithMore, nameCol, orNone } from '../api/printing.js';

export { humanDuration };

export interface TableColumnDefinition { name: string; type: string; format: string; description: string; priority: number }
export interface TableRow { cells: unknown[]; object?: unknown }
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** ?includeObject=None|Metadata|Object (kubectl asks for Object, default Metadata). */
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** Omit columnDefinitions (watch events after the first, ?noHeaders). */
  noHeaders?: boolean;
  now?: Date;
}


type Col = Column;


function podCells(pod: KubeObject, since: (t?: string | null) => string): unknown[] {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  let restarts = 0;
  let lastRestart = 0;
  let ready = 0;
  let reason: string = status.reason || status.phase || '';
  const noteRestart = (cs: any) => {
    restarts += cs.restartCount ?? 0;
    const t = Date.parse(cs.lastState?.terminated?.finishedAt ?? '');
    if (t > lastRestart) lastRestart = t;
  };
  if (status.conditions?.some((c: any) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';
  let initializing = false;
  const inits: any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    noteRestart(c);
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    initializing = true;
    break;
  }
  const initialized = status.conditions?.some((c: any) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = 0;
    let hasRunning = false;
    const cs: any[] = status.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      noteRestart(c);
      const wait = c.state?.waiting;
      const term = c.state?.terminated;
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';
  const restartsStr = restarts !== 0 && lastRestart ? `${restarts} (${since(new Date(lastRestart).toISOString())} ago)` : String(restarts);
  const gates: { conditionType: string }[] = spec.readinessGates ?? [];
  const gatesStr = gates.length
    ? `${gates.filter((g) => status.conditions?.some((c: any) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata.name, `${ready}/${(spec.containers ?? []).length}`, reason, restartsStr, age(pod, since),
    orNone(status.podIPs?.[0]?.ip ?? status.podIP), orNone(spec.nodeName), orNone(status.nominatedNodeName), gatesStr,
  ];
}



function serviceExternalIP(spec: any, status: any): string {
  const ext: string[] = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'LoadBalancer': {
      const ips = [...(status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip || i.hostname), ...ext];
      return ips.length ? ips.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return ext.length ? ext.join(',') : '<none>';
  }
}

function servicePorts(ports: any[] | undefined): string {
  if (!ports?.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function formatEndpoints(ep: KubeObject): string {
  const subsets: any[] = ep.subsets ?? [];
  if (!subsets.length) return '<none>';
  const list: string[] = [];
  const max = 3;
  let count = 0;
  for (const ss of subsets) {
    const addrs: any[] = ss.addresses ?? [];
    const ports: any[] = ss.ports?.length ? ss.ports : [undefined];
    for (const port of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) continue;
        list.push(port ? (a.ip.includes(':') ? `[${a.ip}]:${port.port}` : `${a.ip}:${port.port}`) : a.ip);
      }
    }
  }
  const s = list.join(',');
  return count > max ? `${s} + ${count - max} more...` : s;
}


function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].filter(Boolean).sort().join(',') || '<none>';
}

function nodeCells(n: KubeObject, since: (t?: string | null) => string): unknown[] {
  const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (n.spec?.unschedulable) status.push('SchedulingDisabled');
  const info = n.status?.nodeInfo ?? {};
  const addr = (t: string) => orNone((n.status?.addresses ?? []).find((a: any) => a.type === t)?.address);
  return [
    n.metadata.name, status.join(','), nodeRoles(n.metadata.labels), age(n, since), info.kubeletVersion ?? '',
    addr('InternalIP'), addr('ExternalIP'), info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>',
  ];
}

function eventCells(e: KubeObject, since: (t?: string | null) => string): unknown[] {
  const first = e.firstTimestamp ? since(e.firstTimestamp) : since(e.eventTime);
  let last = e.lastTimestamp ? since(e.lastTimestamp) : first;
  let count = e.count || 1;
  if (e.series) {
    last = since(e.series.lastObservedTime);
    count = e.series.count;
  }
  const io = e.involvedObject ?? {};
  const kind = String(io.kind ?? '').toLowerCase();
  const target = io.name ? `${kind}/${io.name}` : kind;
  const component = e.source?.component || e.reportingComponent || '';
  const host = e.source?.host || e.reportingInstance || '';
  const source = host ? `${component}, ${host}` : component;
  return [last, e.type ?? '', e.reason ?? '', target, io.fieldPath ?? '', source, String(e.message ?? '').trim(), first, count, e.metadata.name];
}

const printers: Record<string, Printer> = {
  Pod: {
    columns: [nameCol,
      ['Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'],
      ['Status', 'string', 'The aggregate status of the containers in this pod.'],
      ['Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'],
      ageCol,
      ['IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1],
      ['Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1],
      ['Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', 1],
      ['Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1]],
    cells: podCells,
  },
  Deployment: {
    columns: [nameCol,
      ['Ready', 'string', 'Number of the pod with ready state'],
      ['Up-to-date', 'integer', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'],
      ['Available', 'integer', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'],
      ageCol, ...containerCols],
    cells: (d, since) => [d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0, age(d, since), ...containerCells(d)],
  },
  ReplicaSet: {
    columns: [nameCol,
      ['Desired', 'integer', 'Replicas is the number of desired replicas.'],
      ['Current', 'integer', 'Replicas is the most recently observed number of replicas.'],
      ['Ready', 'integer', 'The number of ready replicas for this replica set.'],
      ageCol, ...containerCols],
    cells: (r, since) => [r.metadata.name, r.spec?.replicas ?? 0, r.status?.replicas ?? 0, r.status?.readyReplicas ?? 0, age(r, since), ...containerCells(r)],
  },
  Service: {
    columns: [nameCol,
      ['Type', 'string', 'type determines how the Service is exposed.'],
      ['Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'],
      ['External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'],
      ['Port(s)', 'string', 'The list of ports that are exposed by this service.'],
      ageCol,
      ['Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1]],
    cells: (s, since) => [s.metadata.name, s.spec?.type ?? 'ClusterIP', orNone(s.spec?.clusterIP), serviceExternalIP(s.spec ?? {}, s.status), servicePorts(s.spec?.ports), age(s, since), formatLabels(s.spec?.selector)],
  },
  Endpoints: {
    columns: [nameCol, ['Endpoints', 'string', 'Endpoints is the list of endpoints.'], ageCol],
    cells: (e, since) => [e.metadata.name, formatEndpoints(e), age(e, since)],
  },
  Node: {
    columns: [nameCol,
      ['Status', 'string', 'The status of the node'],
      ['Roles', 'string', 'The roles of the node'],
      ageCol,
      ['Version', 'string', 'Kubelet Version reported by the node.'],
      ['Internal-IP', 'string', 'List of addresses reachable to the node.', 1],
      ['External-IP', 'string', 'List of addresses reachable to the node.', 1],
      ['OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1],
      ['Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1],
      ['Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1]],
    cells: nodeCells,
  },
  Namespace: {
    columns: [nameCol, ['Status', 'string', 'The status of the namespace'], ageCol],
    cells: (n, since) => [n.metadata.name, n.status?.phase ?? '', age(n, since)],
  },
  Event: {
    columns: [
      ['Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'],
      ['Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future.'],
      ['Reason', 'string', "This should be a short, machine understandable string that gives the reason for this event being generated."],
      ['Object', 'string', 'The object that this event is about.'],
      ['Subobject', 'string', 'The subobject that this event is about.', 1],
      ['Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1],
      ['Message', 'string', 'A human-readable description of the status of this operation.'],
      ['First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1],
      ['Count', 'string', 'The number of times this event has occurred.', 1],
      ['Name', 'string', nameCol[2], 1, 'name']],
    cells: eventCells,
  },
  EndpointSlice: {
    columns: [nameCol,
      ['AddressType', 'string', 'Type of address carried by this EndpointSlice'],
      ['Ports', 'string', 'Ports allowed by this EndpointSlice'],
      ['Endpoints', 'string', 'Endpoints included in this EndpointSlice'],
      ageCol],
    cells: (e, since) => [
      e.metadata.name, e.addressType ?? '',
      listWithMore((e.ports ?? []).map((p: any) => (p.port != null ? String(p.port) : p.name != null ? p.name : '*'))),
      listWithMore((e.endpoints ?? []).flatMap((x: any) => x.addresses ?? [])),
      age(e, since),
    ],
  },
  ConfigMap: {
    columns: [nameCol, ['Data', 'string', 'Data contains the configuration data.'], ageCol],
    cells: (c, since) => [c.metadata.name, Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, age(c, since)],
  },
  Lease: {
    columns: [nameCol, ['Holder', 'string', 'The holder of the lease'], ageCol],
    cells: (l, since) => [l.metadata.name, l.spec?.holderIdentity ?? '', age(l, since)],
  },
  // DATA counts keys only; a Secret's values never reach a table.
  Secret: {
    columns: [nameCol,
      ['Type', 'string', 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types'],
      ['Data', 'string', "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"],
      ageCol],
    cells: (s, since) => [s.metadata.name, s.type ?? '', Object.keys(s.data ?? {}).length, age(s, since)],
  },
  ServiceAccount: {
    columns: [nameCol,
      ['Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret'],
      ageCol],
    cells: (sa, since) => [sa.metadata.name, (sa.secrets ?? []).length, age(sa, since)],
  },
};

/** extractCSRStatus: Denied wins over Approved, else Pending; then Failed and Issued. */
function csrCondition(csr: KubeObject): string {
  const has = (t: string) => (csr.status?.conditions ?? []).some((c: { type?: string }) => c.type === t);
  let out = has('Denied') ? 'Denied' : has('Approved') ? 'Approved' : 'Pending';
  if (has('Failed')) out += ',Failed';
  if (csr.status?.certificate) out += ',Issued';
  return out;
}
printers.CertificateSigningRequest = {
  columns: [nameCol, ageCol,
    ['SignerName', 'string', 'signerName indicates the requested signer, and is a qualified name.'],
    ['Requestor', 'string', 'request contains an x509 certificate signing request encoded in a "CERTIFICATE REQUEST" PEM block. When serialized as JSON or YAML, the data is additionally base64-encoded.'],
    ['RequestedDuration', 'string', 'expirationSeconds is the requested duration of validity of the issued certificate.'],
    ['Condition', 'string', 'conditions applied to the request. Known conditions are "Approved", "Denied", and "Failed".']],
  cells: (c, since) => [c.metadata.name, age(c, since), c.spec?.signerName ?? '', c.spec?.username ?? '',
    c.spec?.expirationSeconds != null ? humanDuration(c.spec.expirationSeconds * 1000) : '<none>', csrCondition(c)],
};

/** rbac.SubjectsStrings: users, groups and "namespace/name" ServiceAccounts of a binding. */
function subjectsCells(b: KubeObject): string[] {
  const subjects: { kind?: string; name?: string; namespace?: string }[] = b.subjects ?? [];
  const of = (kind: string) => subjects.filter((s) => s.kind === kind);
  return [of('User').map((s) => s.name).join(', '), of('Group').map((s) => s.name).join(', '), of('ServiceAccount').map((s) => `${s.namespace ?? ''}/${s.name}`).join(', ')];
}

function bindingPrinter(kind: string): Printer {
  return {
    columns: [nameCol,
      ['Role', 'string', `RoleRef can ${kind === 'RoleBinding' ? 'reference a Role in the current namespace or a ClusterRole in the global namespace' : 'only reference a ClusterRole in the global namespace'}. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.`],
      ageCol,
      ['Users', 'string', `Users in the ${kind === 'RoleBinding' ? 'roleBinding' : 'clusterRoleBinding'}`, 1],
      ['Groups', 'string', `Groups in the ${kind === 'RoleBinding' ? 'roleBinding' : 'clusterRoleBinding'}`, 1],
      ['ServiceAccounts', 'string', `ServiceAccounts in the ${kind === 'RoleBinding' ? 'roleBinding' : 'clusterRoleBinding'}`, 1]],
    cells: (b, since) => [b.metadata.name, `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`, age(b, since), ...subjectsCells(b)],
  };
}
printers.RoleBinding = bindingPrinter('RoleBinding');
printers.ClusterRoleBinding = bindingPrinter('ClusterRoleBinding');

// Kinds without a printer get upstream's default convertor columns.
const fallback: Printer = {
  columns: [nameCol, ['Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.']],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
};

function rowObject(r: ResourceInfo, o: KubeObject, include: TableOptions['includeObject']): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return { apiVersion: apiVersionOf(r), kind: r.kind, ...o };
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(resource: ResourceInfo, objects: KubeObject[], listMeta: Table['metadata'], opts: TableOptions = {}): Table {
  const p = kindOf(resource).printer ?? printers[resource.kind] ?? fallback;
  const now = (opts.now ?? new Date()).getTime();
  const since = (t?: string | null) => {
    const ms = t ? Date.parse(t) : NaN;
    return Number.isNaN(ms) ? '<unknown>' : humanDuration(now - ms);
  };
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: opts.noHeaders ? [] : p.columns.map(([name, type, description, priority = 0, format = '']) => ({ name, type, format, description, priority })),
    rows: objects.map((o) => {
      const row: TableRow = { cells: p.cells(o, since) };
      const obj = rowObject(resource, o, include);
      if (obj !== undefined) row.object = obj;
      return row;
    }),
  };
}
