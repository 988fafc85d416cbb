// Rules the networking.k8s.io kinds share (pkg/apis/networking/validation and
// apimachinery's validation helpers they call).

import type { StatusCause } from '../../types.js';
import { field, isDNS1035Label } from '../../schemas/rules.js';

/** validation.IsValidPortName (an IANA_SVC_NAME). */
export function isValidPortName(port: string): string[] {
  const out: string[] = [];
  if (port.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(port)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) out.push('must contain at least one letter (a-z)');
  if (port.includes('--')) out.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-'))) out.push('must not begin or end with a hyphen');
  return out;
}

/** validation.IsValidPortNum. */
export const isValidPortNum = (p: number): string[] => (p >= 1 && p <= 65535 ? [] : ['must be between 1 and 65535, inclusive']);

/** validateIngressBackend: exactly one of a resource or a service (by name and one of port name or number). */
export function validateIngressBackend(b: any, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const hasResource = b?.resource !== undefined && b?.resource !== null;
  const hasService = b?.service !== undefined && b?.service !== null;
  if (hasResource && hasService) return [field.invalid(path, '', 'cannot set both resource and service backends')];
  if (hasResource) {
    // validateIngressTypedLocalObjectReference.
    const r = b.resource;
    if (!r.kind) out.push(field.required(`${path}.resource.kind`, 'kind is required'));
    if (!r.name) out.push(field.required(`${path}.resource.name`, 'name is required'));
    if (r.apiGroup === '') out.push(field.invalid(`${path}.resource.apiGroup`, '', 'must be non-empty'));
    return out;
  }
  if (!hasService) return [field.invalid(path, '', 'resource or service backend is required')];
  const svc = b.service;
  if (!svc.name) out.push(field.required(`${path}.service.name`, ''));
  else for (const msg of isDNS1035Label(svc.name)) out.push(field.invalid(`${path}.service.name`, svc.name, msg));
  const portName: string = svc.port?.name ?? '';
  const portNumber: number = svc.port?.number ?? 0;
  if (portName && portNumber) out.push(field.invalid(path, '', 'cannot set both port name & port number'));
  else if (portName) for (const msg of isValidPortName(portName)) out.push(field.invalid(`${path}.service.port.name`, portName, msg));
  else if (portNumber) for (const msg of isValidPortNum(portNumber)) out.push(field.invalid(`${path}.service.port.number`, portNumber, msg));
  else out.push(field.required(path, 'port name or number is required'));
  return out;
}
