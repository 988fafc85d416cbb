// A DNS stub for tests and the benchmark: one query over UDP or TCP to a port on 127.0.0.1.

import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

/** dns-packet's decoded packet with the rcode it sets (its types leave it out). */
export type Reply = dnsPacket.DecodedPacket & { rcode: string };

let nextId = 1;

export function queryPacket(name: string, type: dnsPacket.RecordType, id = (nextId = (nextId + 1) & 0xffff)): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

export function udpQuery(port: number, name: string, type: dnsPacket.RecordType = 'A', timeoutMs = 3000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error(`no UDP answer for ${name}`)); }, timeoutMs);
    s.on('message', (b) => { clearTimeout(t); s.close(); resolve(dnsPacket.decode(b) as Reply); });
    s.send(queryPacket(name, type), port, '127.0.0.1');
  });
}

export function tcpQuery(port: number, name: string, type: dnsPacket.RecordType = 'A', timeoutMs = 3000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.setTimeout(timeoutMs, () => { s.destroy(); reject(new Error(`no TCP answer for ${name}`)); });
    s.on('error', reject);
    s.on('connect', () => {
      const m = queryPacket(name, type);
      const l = Buffer.alloc(2);
      l.writeUInt16BE(m.length);
      s.write(Buffer.concat([l, m]));
    });
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { s.destroy(); resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply); }
    });
  });
}
