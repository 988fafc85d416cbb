// core/v1 PodTemplate: a stored pod template other objects may refer to
// (pkg/registry/core/podtemplate, ValidatePodTemplate). No status.

import { defineKind, entry } from '../../kind.js';
import { defaultPodSpec } from '../../defaults.js';
import { formatLabels, nameCol } from '../../printing.js';
import { validateAnnotations, validateLabels, validatePodSpec } from '../../schemas/rules.js';

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

export default defineKind({
  resource: entry({ group: '', version: 'v1', kind: 'PodTemplate', plural: 'podtemplates', singular: 'podtemplate', namespaced: true }),

  defaults(pt) {
    if (isObject(pt.template)) defaultPodSpec(pt.template.spec, { admission: false });
  },

  // ValidatePodTemplate: the template as ValidatePodTemplateSpec checks it, under "template".
  validate(pt) {
    const t = isObject(pt.template) ? pt.template : {};
    return [
      ...validateLabels(t.metadata?.labels, 'template.metadata.labels'),
      ...validateAnnotations(t.metadata?.annotations, 'template.metadata.annotations'),
      ...validatePodSpec(t.spec, 'template.spec'),
    ];
  },

  // printPodTemplate.
  printer: {
    columns: [nameCol,
      ['Containers', 'string', 'Names of each container in the template.'],
      ['Images', 'string', 'Images referenced by each container in the template.'],
      ['Pod Labels', 'string', 'The labels for the pod template.']],
    cells: (pt) => {
      const cs: { name: string; image?: string }[] = pt.template?.spec?.containers ?? [];
      return [pt.metadata.name, cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), formatLabels(pt.template?.metadata?.labels)];
    },
  },
});
