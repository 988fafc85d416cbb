// Storage failures become the Status kube-apiserver returns for them
// (k8s.io/apiserver/pkg/storage/errors.go InterpretXxxError).

import { errors, isStatusError, type StatusError } from '../../api/errors.js';
import type { ResourceInfo } from '../../api/resources.js';
import { StorageError } from '../storage/interface.js';

export const modifiedMessage = 'the object has been modified; please apply your changes to the latest version and try again';

export function toStatus(e: unknown, r: ResourceInfo, name: string): StatusError {
  if (isStatusError(e)) return e;
  if (e instanceof StorageError) {
    switch (e.code) {
      case 'KeyNotFound': return errors.notFound(r.plural, name, r.group);
      case 'KeyExists': return errors.alreadyExists(r.plural, name, r.group);
      case 'Conflict': return errors.conflict(r.plural, name, modifiedMessage, r.group);
      case 'ResourceVersionTooOld': return errors.expired(e.message.startsWith('too old') ? e.message : `too old resource version: ${e.message}`);
      case 'InvalidResourceVersion':
        if (e.requestedRevision !== undefined && e.currentRevision !== undefined) return errors.tooLargeResourceVersion(e.requestedRevision, e.currentRevision);
        return errors.timeout(`Too large resource version: ${e.message}`);
      case 'Unavailable': return errors.serviceUnavailable(`etcd is unavailable: ${e.message}`);
      // kube answers a storage timeout 504; the message says what the client cannot know.
      case 'OutcomeUnknown': return errors.timeout(`Timeout: the write to storage did not complete in time, and may or may not have been applied: ${e.message}`);
    }
  }
  return errors.internal((e as Error)?.message ?? String(e));
}
