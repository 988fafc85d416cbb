import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enableHairpin, Hairpin, IpBatch } from './hairpin.js';

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

  it('remembers device indexes across pods, and finds a device whose name was reused by a newer one', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hairpin-'));
    const put = (p: string, v: string) => { fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true }); fs.writeFileSync(path.join(root, p), v); };
    const veth = (dev: string, idx: string) => { put(`sys/class/net/${dev}/ifindex`, `${idx}\n`); put(`sys/class/net/${dev}/brport/hairpin_mode`, '0\n'); };
    veth('vethA', '20');
    veth('vethB', '21');
    put('proc/1/root/sys/class/net/eth0/iflink', '20\n');
    const h = new Hairpin(root);
    expect(await h.enable(1)).toBe('vethA');
    // vethB goes away and a new device takes its name with another index.
    veth('vethB', '30');
    veth('vethC', '31');
    put('proc/2/root/sys/class/net/eth0/iflink', '31\n');
    expect(await h.enable(2)).toBe('vethC');
    put('proc/3/root/sys/class/net/eth0/iflink', '30\n');
    expect(await h.enable(3)).toBe('vethB');
    expect(fs.readFileSync(path.join(root, 'sys/class/net/vethB/brport/hairpin_mode'), 'utf8')).toBe('1');
    put('proc/4/root/sys/class/net/eth0/iflink', '99\n');
    expect(await h.enable(4)).toBeUndefined();
  });

  it('rejects when the container has no network namespace to read', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hairpin-'));
    await expect(enableHairpin(7, root)).rejects.toThrow();
  });
});

describe('IpBatch', () => {
  it('answers each request through one ip -batch in order: a device that is not a bridge port fails, and the next request still gets its answer', async () => {
    const ip = new IpBatch();
    try {
      // Neither exists (nor could be one of ours), so nothing on the machine changes.
      const a = ip.set('/sys/class/net', 'skiffnone0');
      const b = ip.set('/sys/class/net', 'skiffnone1');
      await expect(a).rejects.toThrow(/not on for skiffnone0/);
      await expect(b).rejects.toThrow(/not on for skiffnone1/);
      await expect(ip.set('/sys/class/net', 'x y')).rejects.toThrow(/unexpected device name/);
    } finally {
      ip.stop();
    }
  });
});
