#!/usr/bin/env node
// The bin is this committed file rather than dist/cli.js itself, so that workspace installs can
// link it before the first build (pnpm warns about a missing bin target otherwise).
import '../dist/cli.js';
