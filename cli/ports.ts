// Loopback ports for the processes `skiff up` and the test suites start.
//
// Asking the kernel for port 0 and closing the socket hands out a port from
// the ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 here), which
// is also where every outgoing connection takes its local port. With many
// suites running at once, some client's connect() could take the port in the
// moment between our close and etcd's bind ("address already in use"). So
// ports come from below the ephemeral range and outside the NodePort range
// (30000-32767), where only listeners that ask for a port by number land.

import net from 'node:net';

const LOW = 15000;
const HIGH = 29999;
const handedOut = new Set<number>();

/** A port on 127.0.0.1 that is free now and has not been handed out by this process before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (await portInUse(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${LOW}-${HIGH} after 200 tries`);
}

/** Ports chosen elsewhere (flags) that freePort must not hand out while they are not bound yet. */
export function reservePorts(...ports: number[]): void {
  for (const p of ports) handedOut.add(p);
}

export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/** True when a process failed because another took its port first. */
export function isAddressInUse(output: string): boolean {
  return /address already in use|EADDRINUSE/i.test(output);
}
