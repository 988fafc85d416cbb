// core/v1 ConfigMap (ValidateConfigMap, ValidateConfigMapUpdate, printConfigMap). core/v1 has no SetDefaults_ConfigMap.

import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../types.js';
import { defineKind, entry } from '../../kind.js';
import { fieldCause } from '../../errors.js';
import { base64Length, configKey, field, tooLong } from '../../schemas/rules.js';
import { age, ageCol, nameCol } from '../../printing.js';

/** core.MaxSecretSize, which ConfigMaps share: data and binaryData values together. */
const maxConfigMapBytes = 1024 * 1024;

function validateConfigMap(obj: KubeObject, old?: KubeObject) {
  const out = [];
  let total = 0;
  for (const section of ['data', 'binaryData'] as const) {
    for (const [k, v] of Object.entries((obj[section] ?? {}) as Record<string, string>)) {
      if (!configKey.test(k) || k.length > 253) out.push(field.invalid(`${section}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
      if (section === 'data') {
        total += Buffer.byteLength(v ?? '');
        continue;
      }
      // binaryData is []byte: JSON carries it as base64, and what does not decode cannot be stored.
      const n = base64Length(v ?? '');
      if (typeof n === 'string') out.push(fieldCause(`binaryData[${k}]`, 'FieldValueInvalid', `Invalid value: "<value omitted>": ${n}`));
      else total += n;
    }
  }
  // The whole object is meant, so kube names no field.
  if (total > maxConfigMapBytes) out.push(tooLong('', maxConfigMapBytes));
  if (old?.immutable) {
    if (!isDeepStrictEqual(obj.data ?? {}, old.data ?? {})) out.push(field.forbidden('data', 'field is immutable when `immutable` is set'));
    if (!isDeepStrictEqual(obj.binaryData ?? {}, old.binaryData ?? {})) out.push(field.forbidden('binaryData', 'field is immutable when `immutable` is set'));
    if (!obj.immutable) out.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  return out;
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', shortNames: ['cm'], namespaced: true }),

  validate: (obj, { old }) => validateConfigMap(obj, old),

  printer: {
    columns: [nameCol, ['Data', 'string', 'Data contains the configuration data.'], ageCol],
    cells: (c, since) => [c.metadata.name, Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length, age(c, since)],
  },
});
