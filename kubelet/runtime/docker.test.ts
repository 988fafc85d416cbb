import { describe, expect, it } from 'vitest';
import { DockerRuntime } from './docker.js';

/** A DockerRuntime whose engine answers image inspects and pulls from a script (no Docker needed). */
function withEngine() {
  const rt = new DockerRuntime();
  const state = { inspects: 0, present: undefined as string | undefined, release: [] as (() => void)[] };
  const engine = {
    getImage: () => ({
      inspect: () => {
        state.inspects++;
        const answer = state.present;
        return new Promise((resolve, reject) => state.release.push(() => (answer ? resolve({ Id: answer }) : reject(Object.assign(new Error('no such image'), { statusCode: 404 })))));
      },
    }),
    pull: async () => 'stream',
    modem: { followProgress: (_s: unknown, done: (e: null, out: unknown[]) => void) => { state.present = 'sha256:pulled'; done(null, []); } },
  };
  Object.defineProperty(rt, 'docker', { value: engine });
  const answerAll = () => { for (const r of state.release.splice(0)) r(); };
  return { rt, state, answerAll };
}

describe('DockerRuntime.imageID', () => {
  it('shares one inspect among callers asking at once, and asks again once it has answered', async () => {
    const { rt, state, answerAll } = withEngine();
    state.present = 'sha256:a';
    const asks = Promise.all([rt.imageID('busybox:latest'), rt.imageID('busybox:latest'), rt.imageID('busybox:latest')]);
    expect(state.inspects).toBe(1);
    answerAll();
    expect(await asks).toEqual(['sha256:a', 'sha256:a', 'sha256:a']);
    const later = rt.imageID('busybox:latest');
    expect(state.inspects).toBe(2);
    answerAll();
    expect(await later).toBe('sha256:a');
  });

  it('does not hand a caller that has just pulled an inspect begun before its pull ended', async () => {
    const { rt, state, answerAll } = withEngine();
    const before = rt.imageID('img:1'); // in flight while absent
    await rt.pull('img:1');
    const after = rt.imageID('img:1');
    expect(state.inspects).toBe(2);
    answerAll();
    expect(await before).toBeUndefined();
    expect(await after).toBe('sha256:pulled');
  });
});
