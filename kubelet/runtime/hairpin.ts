// Hairpin mode on a pod's bridge port, as the kubelet's --hairpin-mode=hairpin-veth
// does: without it a pod that reaches its own Service is DNATed back to itself
// and the bridge refuses to send the frame out of the port it came in on, so
// the connection hangs. Docker's default bridge leaves hairpin_mode at 0.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const sysNet = '/sys/class/net';

/**
 * How the bridge port's flag is set. The sysfs attribute's store does not
 * sleep on the rtnl lock: while another holds it (the engine setting up a
 * veth, most of the time during a burst of pod starts) the write is restarted
 * at once, again and again, a CPU spinning in the kernel that the lock's
 * holder needs to finish (3-9 ms of kubelet CPU per pod, in sys time, in
 * bench:podstartup). A netlink request (ip link) sleeps on the lock instead;
 * spawning ip costs ~2.7 ms of CPU, bounded. The sysfs write remains where ip
 * is missing, and for a root other than / (tests).
 */
export type HairpinSetter = (net: string, dev: string) => Promise<void>;

const bySysfs: HairpinSetter = (net, dev) => fs.promises.writeFile(path.join(net, dev, 'brport', 'hairpin_mode'), '1');

const byNetlink: HairpinSetter = (net, dev) => new Promise((resolve, reject) => {
  execFile('ip', ['link', 'set', 'dev', dev, 'type', 'bridge_slave', 'hairpin', 'on'], { timeout: 30_000 }, (e, _out, err) => {
    if (!e) resolve();
    else if ((e as NodeJS.ErrnoException).code === 'ENOENT') bySysfs(net, dev).then(resolve, reject);
    else reject(new Error(`ip link set dev ${dev} hairpin on: ${String(err).trim() || e.message}`));
  });
});

/**
 * Finds the host side of a container's eth0 (the veth whose ifindex is the
 * container's eth0 iflink, read through /proc/PID/root/sys, which shows the
 * container's own network namespace) and turns hairpin on.
 *
 * Every sandbox adds a veth, so scanning every device for every new pod
 * grows with the node's pod count, on the start-up path of each pod: the
 * ifindex of each device is remembered (it never changes while the device
 * exists) and only new names are read. A name reused by a newer device is
 * caught by a full rescan when the remembered indexes give no match.
 *
 * The reads are synchronous: these sysfs attributes are answered from memory
 * without the rtnl lock, and an asynchronous readFile costs several times
 * the CPU (open, stat, read and close each a trip through the thread pool)
 * on every pod start. Only setting the flag, which takes the rtnl lock, waits.
 */
export class Hairpin {
  private readonly indexOf = new Map<string, string>();
  private readonly set: HairpinSetter;

  constructor(private readonly root = '', set?: HairpinSetter) {
    this.set = set ?? (root ? bySysfs : byNetlink);
  }

  /** Returns the veth's name, or undefined when no host device matches. */
  async enable(pid: number): Promise<string | undefined> {
    const iflink = fs.readFileSync(`${this.root}/proc/${pid}/root${sysNet}/eth0/iflink`, 'utf8').trim();
    const net = `${this.root}${sysNet}`;
    const dev = this.find(net, iflink, false) ?? this.find(net, iflink, true);
    if (!dev) return undefined;
    await this.set(net, dev);
    return dev;
  }

  private find(net: string, iflink: string, rescan: boolean): string | undefined {
    const devs = fs.readdirSync(net);
    const present = new Set(devs);
    for (const d of this.indexOf.keys()) if (rescan || !present.has(d)) this.indexOf.delete(d);
    for (const d of devs) {
      if (this.indexOf.has(d)) continue;
      let index = '';
      try {
        index = fs.readFileSync(path.join(net, d, 'ifindex'), 'utf8').trim();
      } catch {
        // Gone between the listing and the read.
      }
      this.indexOf.set(d, index);
    }
    for (const [d, index] of this.indexOf) if (index === iflink) return d;
    return undefined;
  }
}

/** One lookup without remembered indexes. */
export async function enableHairpin(pid: number, root = ''): Promise<string | undefined> {
  return new Hairpin(root).enable(pid);
}
