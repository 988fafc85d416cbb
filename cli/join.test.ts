import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { R } from '../api/resources.js';
import type { ConfigMap } from '../api/types.js';
import { FakeClient } from '../client/fake.js';
import { caCertHash, createCA } from '../lib/pki.js';
import { clusterInfoKubeconfig, discover, JoinError, joinCommand, prepareJoin } from './join.js';

describe('prepareJoin (kubeadm init\'s bootstrap-token phase)', () => {
  it('publishes cluster-info with the server and CA only, the anonymous Role for it and the auto-approve bindings, and is idempotent', async () => {
    const ca = (await createCA('t')).cert;
    const client = new FakeClient();
    await prepareJoin(client, { server: 'https://10.0.0.1:6443', ca });
    await prepareJoin(client, { server: 'https://10.0.0.1:6443', ca });
    const cm = await client.resource<ConfigMap>(R.configmaps, 'kube-public').get('cluster-info');
    const kc = yaml.load(cm.data!.kubeconfig) as any;
    expect(kc.clusters).toEqual([{ name: '', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': Buffer.from(ca).toString('base64') } }]);
    expect(kc.users).toBeNull();
    const rb = await client.resource(R.rolebindings, 'kube-public').get('kubeadm:bootstrap-signer-clusterinfo');
    expect(rb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:anonymous' }]);
    const role = await client.resource(R.roles, 'kube-public').get('kubeadm:bootstrap-signer-clusterinfo');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }]);
    const auto = await client.resource(R.clusterrolebindings).get('kubeadm:node-autoapprove-bootstrap');
    expect(auto.roleRef.name).toBe('system:certificates.k8s.io:certificatesigningrequests:nodeclient');
  });

  it('rewrites cluster-info for a new address and drops the old signatures', async () => {
    const ca = (await createCA('t')).cert;
    const client = new FakeClient();
    await prepareJoin(client, { server: 'https://10.0.0.1:6443', ca });
    const cms = client.resource<ConfigMap>(R.configmaps, 'kube-public');
    const cm = await cms.get('cluster-info');
    cm.data!['jws-kubeconfig-abcdef'] = 'old';
    await cms.update(cm);
    await prepareJoin(client, { server: 'https://10.0.0.2:6443', ca });
    const after = await cms.get('cluster-info');
    expect(after.data).toEqual({ kubeconfig: clusterInfoKubeconfig('https://10.0.0.2:6443', ca) });
  });

  it('prints the join command with a fresh 24h token and the CA hash', async () => {
    const ca = (await createCA('t')).cert;
    const client = new FakeClient();
    const cmd = await joinCommand(client, 'https://10.0.0.1:6443', ca);
    expect(cmd).toMatch(new RegExp(`^skiff join https://10\\.0\\.0\\.1:6443 --token [a-z0-9]{6}\\.[a-z0-9]{16} --ca-cert-hash ${caCertHash(ca)}$`));
    const id = /--token ([a-z0-9]{6})\./.exec(cmd)![1];
    const secret = await client.resource(R.secrets, 'kube-system').get(`bootstrap-token-${id}`);
    const exp = Date.parse(Buffer.from(secret.data.expiration, 'base64').toString());
    expect(Math.abs(exp - Date.now() - 24 * 3600_000)).toBeLessThan(60_000);
  });
});

describe('discover', () => {
  it('refuses a malformed token and a missing hash before contacting anyone', async () => {
    await expect(discover('https://127.0.0.1:1', 'nope', { caCertHashes: [], unsafeSkipCAVerification: false })).rejects.toThrow(JoinError);
    await expect(discover('https://127.0.0.1:1', 'abcdef.0123456789abcdef', { caCertHashes: [], unsafeSkipCAVerification: false })).rejects.toThrow('refusing to trust the API server without --ca-cert-hash');
  });
});
