// The control-traffic budget both scale benchmarks measure against.

/** 10 kbit/s per node: what users of a site-to-site overlay accept as its own overhead. */
export const CONTROL_BUDGET_BPS = 1250;
