// Who the cluster DNS is to the API server: kubeadm runs CoreDNS as the
// ServiceAccount kube-system/coredns, bound to ClusterRole system:coredns. A
// client certificate with that ServiceAccount's user name and groups is the
// same identity to RBAC, without a token to refresh.

export const dnsUser = 'system:serviceaccount:kube-system:coredns';
export const dnsGroups = ['system:serviceaccounts', 'system:serviceaccounts:kube-system'];
