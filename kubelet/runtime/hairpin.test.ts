import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enableHairpin } from './hairpin.js';

describe('enableHairpin', () => {
  let root = '';
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('turns hairpin on for the bridge port whose ifindex is the container eth0 iflink, and only that one', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hairpin-'));
    const put = (p: string, v: string) => { fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true }); fs.writeFileSync(path.join(root, p), v); };
    put('proc/42/root/sys/class/net/eth0/iflink', '17\n');
    for (const [dev, idx] of [['docker0', '3'], ['veth1', '16'], ['veth2', '17']]) {
      put(`sys/class/net/${dev}/ifindex`, `${idx}\n`);
      if (dev !== 'docker0') put(`sys/class/net/${dev}/brport/hairpin_mode`, '0\n');
    }
    expect(await enableHairpin(42, root)).toBe('veth2');
    expect(fs.readFileSync(path.join(root, 'sys/class/net/veth2/brport/hairpin_mode'), 'utf8')).toBe('1');
    expect(fs.readFileSync(path.join(root, 'sys/class/net/veth1/brport/hairpin_mode'), 'utf8')).toBe('0\n');
  });

  it('rejects when the container has no network namespace to read', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hairpin-'));
    await expect(enableHairpin(7, root)).rejects.toThrow();
  });
});
