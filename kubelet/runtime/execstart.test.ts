import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import type { ExecSession } from './interface.js';
import { ExecStartError, withStartFailure } from './execstart.js';

function session(chunks: string[], code: number) {
  const stdout = new PassThrough();
  let end!: () => void;
  const ended = new Promise<void>((r) => (end = r));
  const s: ExecSession = { stdout, resize: async () => {}, exitCode: ended.then(() => code) };
  const run = () => {
    for (const c of chunks) stdout.write(c);
    stdout.end();
    end();
  };
  return { s, run };
}

const read = (s: ExecSession) => new Promise<string>((resolve) => {
  let text = '';
  s.stdout.on('data', (d: Buffer) => (text += d));
  s.stdout.on('end', () => resolve(text));
});

const msg = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchbinary": executable file not found in $PATH: unknown\r\n';

describe('withStartFailure', () => {
  it('turns a process that never started into an error with the runtime\'s message, and keeps it out of the output', async () => {
    const { s, run } = session([msg], 126);
    const w = withStartFailure(s, 'abc', async () => 0);
    const text = read(w);
    run();
    await expect(w.exitCode).rejects.toThrow(ExecStartError);
    await expect(w.exitCode).rejects.toThrow('failed to exec in container: failed to start exec "abc": OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchbinary": executable file not found in $PATH: unknown');
    expect(await text).toBe('');
  });

  it('passes a started command\'s output and exit code through, even one that prints the same words', async () => {
    const { s, run } = session([msg, 'more\n'], 126);
    const w = withStartFailure(s, 'abc', async () => 4242);
    const text = read(w);
    run();
    expect(await w.exitCode).toBe(126);
    expect(await text).toBe(`${msg}more\n`);
  });

  it('holds nothing back from ordinary output', async () => {
    const { s, run } = session(['hello\n'], 0);
    const w = withStartFailure(s, 'abc', async () => 0);
    const text = read(w);
    run();
    expect(await w.exitCode).toBe(0);
    expect(await text).toBe('hello\n');
  });
});
