// The packet mark that asks for SNAT on the way out (kube's
// --iptables-masquerade-bit, 14): kube-proxy sets it on Service traffic that
// needs it and masquerades it once; the node's network agent leaves marked
// packets to kube-proxy rather than masquerading them a second time.
export const masqueradeMark = '0x4000';
