// Image pulls by imagePullPolicy (pkg/kubelet/images/image_manager.go):
// Never uses what is present or fails with ErrImageNeverPull; IfNotPresent
// pulls only when absent; Always pulls every time. A failed pull is
// ErrImagePull, and further attempts within the per-image back-off (10 s
// doubling to 5 min) report ImagePullBackOff without trying.
//
// Pulls only go to registries on loopback: this machine may send traffic
// nowhere else (see DEVELOPERS.md), so a reference to any other registry fails
// at once, clearly, without a network attempt.
//
// Always with an image that is present but cannot be pulled: Kubernetes would
// fail the container with ErrImagePull. We run the local copy instead and
// record a Warning event saying so. That is the user-friendly choice here,
// because `kubectl run`/`create deployment` default :latest images to Always
// and no registry is reachable; the event keeps the substitution visible.

import type { Container, Pod } from '../api/types.js';
import type { EventRecorder } from '../client/events.js';
import { Backoff } from './backoff.js';
import { ConfigError } from './podconfig.js';
import type { Runtime } from './runtime/interface.js';

/** The registry host of an image reference, as the docker reference grammar reads it. */
export function registryHost(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}

export function pullAllowed(image: string): boolean {
  const host = registryHost(image).replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The policy the API server defaults to: Always for :latest or untagged images, else IfNotPresent. */
export function pullPolicy(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const image = c.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const afterSlash = image.slice(image.lastIndexOf('/') + 1);
  const tag = afterSlash.includes(':') ? afterSlash.slice(afterSlash.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

export class ImageManager {
  readonly backoff = new Backoff();
  /** The last failed pull per key, shown as ErrImagePull until the retry the failure scheduled. */
  private lastFailure = new Map<string, { at: number; message: string }>();

  constructor(private readonly runtime: Runtime, private readonly recorder?: EventRecorder) {}

  /**
   * Whether the image is present, asked ahead of ensure (null when the
   * engine could not say): a pod's new sandbox is created first, and the
   * question need not wait for that.
   */
  lookup(image: string | undefined): Promise<string | undefined | null> {
    if (!image || /\s/.test(image)) return Promise.resolve(null);
    return this.runtime.imageID(image).catch(() => null);
  }

  /** The image's ID once it is present, or a ConfigError with the waiting reason; known is a lookup made for this start. */
  async ensure(pod: Pod, c: Container, known?: Promise<string | undefined | null>): Promise<string> {
    const image = c.image ?? '';
    if (!image || /\s/.test(image)) throw new ConfigError('InvalidImageName', `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`);
    const policy = pullPolicy(c);
    const ahead = known ? await known : null;
    const present = ahead !== null ? ahead : await this.runtime.imageID(image);
    if (policy === 'Never') {
      if (present) return present;
      const msg = `Container image "${image}" is not present with pull policy of Never`;
      this.recorder?.event(pod, 'Warning', 'ErrImageNeverPull', msg);
      throw new ConfigError('ErrImageNeverPull', msg);
    }
    if (policy === 'IfNotPresent' && present) {
      this.recorder?.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return present;
    }
    const key = `${pod.metadata.uid}/${image}`;
    const recent = this.lastFailure.get(key);
    // Syncs triggered by other events right after a failure keep reporting it rather than flipping at once to back-off.
    if (recent && Date.now() - recent.at < 1000 && this.backoff.isInBackOffSinceUpdate(key)) throw new ConfigError('ErrImagePull', recent.message);
    if (this.backoff.isInBackOffSinceUpdate(key)) {
      const msg = `Back-off pulling image "${image}"`;
      this.recorder?.event(pod, 'Normal', 'BackOff', msg);
      throw new ConfigError('ImagePullBackOff', msg);
    }
    let err: string;
    if (!pullAllowed(image)) {
      err = `failed to pull and unpack image "${image}": pulling from registry "${registryHost(image)}" is not allowed on this node: only registries on loopback are reachable`;
    } else {
      this.recorder?.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
      try {
        await this.runtime.pull(image);
        const id = await this.runtime.imageID(image);
        if (id) {
          this.backoff.reset(key);
          this.lastFailure.delete(key);
          this.recorder?.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}"`);
          return id;
        }
        err = `image "${image}" is not present after pulling`;
      } catch (e) {
        err = (e as Error).message;
      }
    }
    if (present) {
      this.recorder?.event(pod, 'Warning', 'Pulled', `Could not pull image "${image}" (${err}); using the image present on the machine`);
      return present;
    }
    this.backoff.next(key);
    const msg = `Failed to pull image "${image}": ${err}`;
    this.lastFailure.set(key, { at: Date.now(), message: msg });
    this.recorder?.event(pod, 'Warning', 'Failed', msg);
    throw new ConfigError('ErrImagePull', msg);
  }

  /** Drop what is remembered about a pod that is gone. */
  forget(uid: string): void {
    this.backoff.resetPrefix(`${uid}/`);
    for (const k of this.lastFailure.keys()) if (k.startsWith(`${uid}/`)) this.lastFailure.delete(k);
  }

  /** Milliseconds until the image may be pulled again. */
  remaining(pod: Pod, c: Container): number {
    return this.backoff.remainingSinceUpdate(`${pod.metadata.uid}/${c.image}`);
  }
}
