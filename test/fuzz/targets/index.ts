// Every fuzz target, in the order a run visits them. A new target is a file in this folder exporting
// a FuzzTarget (see ../target.ts) and one line here.
import type { FuzzTarget } from '../target.js';
import { advertTarget } from './advert.js';
import { clusterTarget } from './cluster.js';
import { dataOpenTarget } from './data-open.js';
import { handshakeInitTarget } from './handshake-init.js';
import { handshakeResponseTarget } from './handshake-response.js';
import { inboundTarget } from './inbound.js';
import { innerTarget } from './inner.js';
import { routedHeaderTarget } from './routed-header.js';
import { routingControlTarget } from './routing-control.js';

export const TARGETS: readonly FuzzTarget[] = [
  routedHeaderTarget,
  handshakeInitTarget,
  handshakeResponseTarget,
  dataOpenTarget,
  routingControlTarget,
  advertTarget,
  inboundTarget,
  innerTarget,
  clusterTarget,
];
