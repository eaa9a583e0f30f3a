#!/usr/bin/env node
// Entry for the `overlayd` command, global installs included: the compiled CLI lives in dist/.
import '../dist/src/main.js';
