// apps/v1 ControllerRevision: an immutable snapshot of a DaemonSet's or
// StatefulSet's template, the history `kubectl rollout undo` goes back to
// (pkg/registry/apps/controllerrevision, pkg/apis/apps/validation).

import { isDeepStrictEqual } from 'node:util';
import { defineKind, entry } from '../../kind.js';
import { ageCol, nameCol } from '../../printing.js';
import { field } from '../../schemas/rules.js';

export default defineKind({
  resource: entry({ group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true }),

  // ValidateControllerRevision and ValidateControllerRevisionUpdate: data is mandatory and never changes.
  validate(rev, { old }) {
    const out = [];
    if (rev.data === undefined || rev.data === null) out.push(field.required('data', 'data is mandatory'));
    if (typeof rev.revision === 'number' && rev.revision < 0) out.push(field.invalid('revision', rev.revision, 'must be greater than or equal to 0'));
    if (old && !isDeepStrictEqual(rev.data, old.data)) out.push(field.invalid('data', rev.data, 'field is immutable'));
    return out;
  },

  // printControllerRevision: the controller as "<kind>.<group>/<name>", lower-cased as formatResourceName does.
  printer: {
    columns: [nameCol,
      ['Controller', 'string', 'Controller of the object'],
      ['Revision', 'number', 'Revision of the ControllerRevision'],
      ageCol],
    cells: (rev, since) => {
      const ref = (rev.metadata.ownerReferences ?? []).find((o) => o.controller);
      const group = ref?.apiVersion?.includes('/') ? ref.apiVersion.split('/')[0] : '';
      const controller = ref ? `${(group ? `${ref.kind}.${group}` : ref.kind).toLowerCase()}/${ref.name}` : '<none>';
      return [rev.metadata.name, controller, rev.revision ?? 0, since(rev.metadata.creationTimestamp)];
    },
  },
});
