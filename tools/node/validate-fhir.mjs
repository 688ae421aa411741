#!/usr/bin/env node
// validate-fhir.mjs: validate FHIR R4 JSON resources with FHIR.js (npm "fhir"),
// an implementation independent of it4ct's Go validator.
//
// Input: NDJSON (one resource per line; blank lines are skipped) read from the
// files given as arguments, or from stdin when there are none.
// Output: one JSON line per resource on stdout:
//   {"id": "<resource id or file:line>", "valid": true|false, "messages": [...]}
// where messages are FHIR.js messages of severity error/fatal (warnings and
// information are kept too, but do not make a resource invalid).
// Exit status: 0 when every resource is valid, 1 when any is invalid or a line
// is not JSON, 2 on usage / I/O errors.
//
// Run: node tools/node/validate-fhir.mjs out.ndjson  (after npm ci --prefix tools/node)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
let Fhir;
try {
  ({ Fhir } = require('fhir'));
} catch (e) {
  process.stderr.write(`validate-fhir: cannot load npm package "fhir" (run npm ci --prefix tools/node): ${e.message}\n`);
  process.exit(2);
}

const fhir = new Fhir(); // default parser: FHIR R4 structure definitions

function readInputs() {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    return [{ name: 'stdin', text: readFileSync(0, 'utf8') }];
  }
  return args.map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
}

let inputs;
try {
  inputs = readInputs();
} catch (e) {
  process.stderr.write(`validate-fhir: ${e.message}\n`);
  process.exit(2);
}

let allValid = true;
for (const { name, text } of inputs) {
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${name}:${i + 1}`;
    let resource;
    try {
      resource = JSON.parse(line);
    } catch (e) {
      allValid = false;
      process.stdout.write(JSON.stringify({ id: where, valid: false, messages: [{ severity: 'fatal', message: `not JSON: ${e.message}` }] }) + '\n');
      return;
    }
    const res = fhir.validate(resource, { errorOnUnexpected: true });
    const errors = (res.messages || []).filter((m) => m.severity === 'error' || m.severity === 'fatal');
    const valid = res.valid === true && errors.length === 0;
    if (!valid) allValid = false;
    const id = (resource && typeof resource === 'object' && resource.id) ? `${resource.resourceType}/${resource.id}` : where;
    process.stdout.write(JSON.stringify({ id, valid, messages: res.messages || [] }) + '\n');
  });
}
process.exit(allValid ? 0 : 1);
