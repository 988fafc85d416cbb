// Hairpin mode on a pod's bridge port, as the kubelet's --hairpin-mode=hairpin-veth
// does: without it a pod that reaches its own Service is DNATed back to itself
// and the bridge refuses to send the frame out of the port it came in on, so
// the connection hangs. Docker's default bridge leaves hairpin_mode at 0.

import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

const sysNet = '/sys/class/net';
const execFileAsync = promisify(execFile);

/**
 * How the bridge port's flag is set. The sysfs attribute's store does not
 * sleep on the rtnl lock: while another holds it (the engine setting up a
 * veth, most of the time during a burst of pod starts) the write is restarted
 * at once, again and again, a CPU spinning in the kernel that the lock's
 * holder needs to finish (3-9 ms of kubelet CPU per pod, in sys time, in
 * bench:podstartup). A netlink request sleeps on the lock instead. The sysfs
 * write remains where ip is missing, and for a root other than / (tests).
 */
export type HairpinSetter = (net: string, dev: string) => Promise<void>;

const bySysfs: HairpinSetter = (net, dev) => fs.promises.writeFile(path.join(net, dev, 'brport', 'hairpin_mode'), '1');

interface IpRequest { net: string; dev: string; on: boolean; resolve: () => void; reject: (e: Error) => void }

/**
 * Netlink through one long-lived `ip -batch -` for every pod rather than a
 * process per pod (a fork of the kubelet blocks its event loop and costs
 * ~2.7 ms of CPU). ip answers each command in order and flushes its output
 * after each, so a request is: set the flag, show the device (in detail, one
 * line: "hairpin on" once set), show lo. lo's line ends the request whether
 * or not the device still exists, so errors need no matching up.
 */
export class IpBatch {
  private proc?: ChildProcessWithoutNullStreams;
  private readonly pending: IpRequest[] = [];
  private buf = '';
  private missing = false;

  readonly set: HairpinSetter = (net, dev) => {
    if (this.missing) return bySysfs(net, dev);
    // Kernel device names hold no whitespace; anything else could not be a veth of ours (nor a second command).
    if (!/^[\w.@-]+$/.test(dev)) return Promise.reject(new Error(`unexpected device name ${JSON.stringify(dev)}`));
    return new Promise((resolve, reject) => {
      const p = this.start();
      this.pending.push({ net, dev, on: false, resolve, reject });
      if (this.pending.length === 1) this.hold(p, true);
      p.stdin.write(`link set dev ${dev} type bridge_slave hairpin on\nlink show dev ${dev}\nlink show dev lo\n`);
    });
  };

  /** Ends the helper (it also ends by itself once its parent is gone and its input closes). */
  stop(): void {
    this.proc?.stdin.end();
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.proc) return this.proc;
    const p = spawn('ip', ['-o', '-d', '-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = p;
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => this.read(d));
    p.stderr.resume(); // a failed command's message; the request's own result comes from the device's line
    p.stdin.on('error', () => {}); // an exit is reported below
    p.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') this.missing = true;
      this.end(p, e);
    });
    p.on('exit', (code, signal) => this.end(p, new Error(`ip -batch exited (${signal ?? code})`)));
    this.hold(p, false);
    return p;
  }

  /** Idle, the helper does not keep the kubelet's event loop alive; with requests out, it does. */
  private hold(p: ChildProcessWithoutNullStreams, busy: boolean): void {
    if (busy) p.ref();
    else p.unref();
    for (const s of [p.stdin, p.stdout, p.stderr] as unknown as { ref?: () => void; unref?: () => void }[]) {
      if (busy) s.ref?.();
      else s.unref?.();
    }
  }

  private read(d: string): void {
    this.buf += d;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const cur = this.pending[0];
      if (!cur) continue;
      if (/^\d+: lo:/.test(line)) {
        this.pending.shift();
        if (!this.pending.length && this.proc) this.hold(this.proc, false);
        if (cur.on) cur.resolve();
        else cur.reject(new Error(`hairpin mode is not on for ${cur.dev} (gone, or not a bridge port)`));
      } else if (line.includes(' hairpin on ')) cur.on = true;
    }
  }

  /** The helper is gone: its requests go again to a new one (or to sysfs, without ip). */
  private end(p: ChildProcessWithoutNullStreams, e: Error): void {
    if (this.proc !== p) return;
    this.proc = undefined;
    this.buf = '';
    const retry = this.pending.splice(0);
    if (this.missing) for (const r of retry) bySysfs(r.net, r.dev).then(r.resolve, r.reject);
    else for (const r of retry) r.reject(e);
  }
}

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
  /**
   * sysfs shows the devices of the network namespace it was mounted in, not the
   * reader's: a kubelet started in a node's namespace with nsenter --net (a
   * VM-like node, README) sees the root namespace's devices there. It then
   * lists its own devices over netlink, which answers for the caller's namespace.
   */
  private readonly foreignSysfs: boolean;

  constructor(private readonly root = '', set?: HairpinSetter) {
    this.set = set ?? (root ? bySysfs : new IpBatch().set);
    this.foreignSysfs = !root && sysfsIsForeign();
  }

  /** Returns the veth's name, or undefined when no host device matches. */
  async enable(pid: number): Promise<string | undefined> {
    const iflink = fs.readFileSync(`${this.root}/proc/${pid}/root${sysNet}/eth0/iflink`, 'utf8').trim();
    const net = `${this.root}${sysNet}`;
    const dev = this.foreignSysfs ? (await linksByNetlink()).get(iflink) : this.find(net, iflink, false) ?? this.find(net, iflink, true);
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

/** Whether /sys/class/net lists other devices than this process's network namespace has (/proc/self/net/dev is per namespace). */
export function sysfsIsForeign(): boolean {
  try {
    const own = fs.readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
    const shown = fs.readdirSync(sysNet).sort();
    return own.join(' ') !== shown.join(' ');
  } catch {
    return false;
  }
}

/** ifindex → device name of this namespace's links, from `ip -o link show` ("5: veth1@if4: <...>"). */
async function linksByNetlink(): Promise<Map<string, string>> {
  const { stdout } = await execFileAsync('ip', ['-o', 'link', 'show']);
  const out = new Map<string, string>();
  for (const m of stdout.matchAll(/^(\d+): ([^:@\s]+)(?:@[^:\s]+)?:/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** One lookup without remembered indexes. */
export async function enableHairpin(pid: number, root = ''): Promise<string | undefined> {
  return new Hairpin(root).enable(pid);
}
