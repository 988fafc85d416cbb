// PodSecurity's part of --admission-control-config-file: an AdmissionConfiguration
// (apiserver.config.k8s.io/v1) whose plugin entry named PodSecurity carries a
// PodSecurityConfiguration inline (`configuration`) or in a file of its own
// (`path`, relative to the AdmissionConfiguration's directory), as kube reads it.

import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { defaultPolicy, type PodSecurityConfiguration } from './admission.js';

const configKinds = new Set(['pod-security.admission.config.k8s.io/v1', 'pod-security.admission.config.k8s.io/v1beta1', 'pod-security.admission.config.k8s.io/v1alpha1']);

/** The PodSecurityConfiguration of an AdmissionConfiguration file, or undefined when it configures no PodSecurity. Throws on a malformed file. */
export function podSecurityConfigurationFromFile(file: string): PodSecurityConfiguration | undefined {
  const admission = yaml.load(fs.readFileSync(file, 'utf8')) as { kind?: string; plugins?: { name?: string; configuration?: unknown; path?: string }[] } | undefined;
  if (admission?.kind !== 'AdmissionConfiguration') throw new Error(`${file}: expected kind AdmissionConfiguration, got ${JSON.stringify(admission?.kind)}`);
  const entry = admission.plugins?.find((p) => p.name === 'PodSecurity');
  if (!entry) return undefined;
  const raw = entry.configuration ?? (entry.path ? yaml.load(fs.readFileSync(path.resolve(path.dirname(file), entry.path), 'utf8')) : undefined);
  if (!raw) return undefined;
  const c = raw as PodSecurityConfiguration & { apiVersion?: string; kind?: string };
  if (c.kind !== 'PodSecurityConfiguration' || !configKinds.has(c.apiVersion ?? '')) {
    throw new Error(`${file}: PodSecurity's configuration must be a PodSecurityConfiguration of pod-security.admission.config.k8s.io/v1, got ${c.apiVersion}/${c.kind}`);
  }
  defaultPolicy(c);
  return { defaults: c.defaults, exemptions: c.exemptions };
}
