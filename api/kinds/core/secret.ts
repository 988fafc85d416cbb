// core/v1 Secret (ValidateSecret, ValidateSecretUpdate, SetDefaults_Secret, printSecret).
// A Secret's values never reach a message, a log or a table.

import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../types.js';
import { defineKind, entry, fieldString as str } from '../../kind.js';
import { fieldCause } from '../../errors.js';
import { isObject, objectAt } from '../../defaults.js';
import { base64Length, configKeyErrors, field, redactedSecret } from '../../schemas/rules.js';
import { age, ageCol, nameCol } from '../../printing.js';

const maxSecretSize = 1024 * 1024;

/** Go's json.Unmarshal into map[string]interface{}, with messages that carry no content of the value. */
function jsonObjectError(b64: string): string | undefined {
  let v: unknown;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  try {
    v = JSON.parse(text);
  } catch (e) {
    // V8's messages quote the input; only where it stopped is kept.
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    return /end of (JSON )?input/i.test(msg) || (at && Number(at[1]) >= text.trimEnd().length) ? 'unexpected end of JSON input' : 'invalid character looking for beginning of value';
  }
  if (v === null || (typeof v === 'object' && !Array.isArray(v))) return undefined;
  const t = Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v;
  return `json: cannot unmarshal ${t} into Go value of type map[string]interface {}`;
}

/** ValidateSecret and ValidateSecretUpdate (pkg/apis/core/validation), after stringData was merged into data. */
function validateSecret(obj: KubeObject, old?: KubeObject) {
  const out = [];
  if (old) {
    if ((obj.type ?? '') !== (old.type ?? '')) out.push(field.invalid('type', obj.type ?? '', 'field is immutable'));
    if (old.immutable) {
      if (!obj.immutable) out.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (!isDeepStrictEqual(obj.data ?? {}, old.data ?? {})) out.push(field.forbidden('data', 'field is immutable when `immutable` is set'));
    }
  }
  const data: Record<string, string> = obj.data ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of configKeyErrors(k)) out.push(field.invalid(`data[${k}]`, k, msg));
    const n = base64Length(v ?? '');
    if (typeof n === 'string') out.push(field.invalid(`data[${k}]`, redactedSecret, n));
    else total += n;
  }
  if (total > maxSecretSize) out.push(fieldCause('data', 'FieldValueTooLong', `Too long: may not be more than ${maxSecretSize} bytes`));
  const has = (k: string) => Object.prototype.hasOwnProperty.call(data, k);
  const jsonKey = (k: string) => {
    if (!has(k)) out.push(field.required(`data[${k}]`));
    else if (typeof base64Length(data[k]) === 'number') {
      const err = jsonObjectError(data[k]);
      if (err) out.push(field.invalid(`data[${k}]`, redactedSecret, err));
    }
  };
  switch (obj.type) {
    case 'kubernetes.io/service-account-token':
      // Only the name: the uid and the token itself may be added later by a controller.
      if (!obj.metadata.annotations?.['kubernetes.io/service-account.name']) out.push(field.required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    case 'kubernetes.io/dockercfg':
      jsonKey('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      jsonKey('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      // Either may be empty, but one of the two must be there.
      if (!has('username') && !has('password')) out.push(field.required('data[username]'), field.required('data[password]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (!data['ssh-privatekey']) out.push(field.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) out.push(field.required('data[tls.crt]'));
      if (!has('tls.key')) out.push(field.required('data[tls.key]'));
      break;
  }
  return out;
}

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true }),

  // SetDefaults_Secret, plus v1's conversion: the write-only stringData overwrites data's keys and is never stored.
  defaults(o) {
    const sd = o.stringData;
    if (sd === null || (isObject(sd) && Object.values(sd).every((v) => typeof v === 'string'))) {
      const data = sd && Object.keys(sd).length ? objectAt(o, 'data') : undefined;
      if (data) for (const [k, v] of Object.entries(sd as Record<string, string>)) data[k] = Buffer.from(v, 'utf8').toString('base64');
      delete o.stringData;
    }
    if (o.type === undefined || o.type === null || o.type === '') o.type = 'Opaque';
  },

  validate: (obj, { old }) => validateSecret(obj, old),

  // Schema errors under these say where, never what.
  redactedPaths: /^\/(data|stringData)(\/|$)/,

  // DATA counts keys only.
  printer: {
    columns: [nameCol,
      ['Type', 'string', 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types'],
      ['Data', 'string', "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"],
      ageCol],
    cells: (s, since) => [s.metadata.name, s.type ?? '', Object.keys(s.data ?? {}).length, age(s, since)],
  },

  selectableFields: (o) => ({ type: str(o.type) }),
});
