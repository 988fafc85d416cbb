// Hairpin mode on a pod's bridge port, as the kubelet's --hairpin-mode=hairpin-veth
// does: without it a pod that reaches its own Service is DNATed back to itself
// and the bridge refuses to send the frame out of the port it came in on, so
// the connection hangs. Docker's default bridge leaves hairpin_mode at 0.

import fs from 'node:fs/promises';
import path from 'node:path';

const sysNet = '/sys/class/net';

/**
 * Find the host side of the container's eth0 (the veth whose ifindex is the
 * container's eth0 iflink, read through /proc/PID/root/sys, which shows the
 * container's own network namespace) and turn hairpin on. Returns the veth name.
 */
export async function enableHairpin(pid: number, root = ''): Promise<string | undefined> {
  const iflink = (await fs.readFile(`${root}/proc/${pid}/root${sysNet}/eth0/iflink`, 'utf8')).trim();
  for (const dev of await fs.readdir(`${root}${sysNet}`)) {
    const dir = path.join(`${root}${sysNet}`, dev);
    const index = await fs.readFile(path.join(dir, 'ifindex'), 'utf8').catch(() => '');
    if (index.trim() !== iflink) continue;
    await fs.writeFile(path.join(dir, 'brport', 'hairpin_mode'), '1');
    return dev;
  }
  return undefined;
}
