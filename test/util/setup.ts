// Setup of the integration project (vitest.config.ts): every suite talks to
// API servers that serve HTTPS only and authenticate every request. The
// global fetch trusts this process's test CA and presents the admin
// (system:masters) certificate, as kubectl with the admin kubeconfig would;
// a test that needs another identity passes its own dispatcher (tlsDispatcher).

import { Agent, setGlobalDispatcher } from 'undici';
import { testPKI } from './pki.js';

const pki = await testPKI();
setGlobalDispatcher(new Agent({ connect: { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key } }));
