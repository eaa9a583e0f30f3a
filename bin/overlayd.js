#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1
// Entry for the `overlayd` command, global installs included: the compiled CLI lives in dist/.
//
// --max-semi-space-size=2 (MB): V8 grows its young generation up to 2 × 16 MB whenever objects keep
// surviving scavenges, which a steady stream of messages always causes, and gives it back only once
// allocation nearly stops. A member flooding us with refused control (benchmarks/hostile-load.ts) thus
// added 33 MB of young generation to a 16 MB heap: most of the daemon's growth under attack. The
// daemon's live objects are few (the data path is native), so 2 MB semi-spaces cost a scavenge per
// 2 MB allocated (well under 1 % of a core at the attack's rate) and bound that growth to 3 MB.
// --v8-pool-size=1: one V8 worker thread instead of Node's four (concurrent compilation and GC
// helpers). Each idle worker keeps a stack and a malloc arena: 4.9 MB of a 79 MB daemon (32 → 27 MB
// private) in a 3-site lab, with single-flow throughput within run-to-run spread (benchmarks/README.md,
// "Where N = 100's control bytes went"). The daemon's own work is on the main thread and libuv's pool.
// `env -S` splits the line (GNU coreutils ≥ 8.30); the lab reads the flags from this line too
// (test/lab/overlay-lab.ts), so its daemons run as installed ones do.
import '../dist/src/main.js';
