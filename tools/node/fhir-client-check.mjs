#!/usr/bin/env node
// Interoperability check of the it4ct FHIR API with an independent client,
// fhir-kit-client (npm), installed in tools/node/node_modules.
//
// Usage:
//   node tools/node/fhir-client-check.mjs <fhirBaseUrl> <studyId> <identifier> [expectedSubjects]
//
//   fhirBaseUrl       e.g. http://127.0.0.1:8080/fhir
//   studyId           id of a ResearchStudy the server holds
//   identifier        token carried by that study: system|value, |value or value
//   expectedSubjects  optional: the number of ResearchSubject whose study is
//                     ResearchStudy/<studyId>; checked when given
//
// Reads the CapabilityStatement, reads the study, searches studies by
// identifier, searches subjects by study and reads an absent study (which
// must fail with 404 and an OperationOutcome). Prints one JSON summary on
// stdout: {"ok": bool, "checks": [{"name","ok","detail"}], ...}.
// Exit status: 0 when every check passed, 1 otherwise, 2 on bad usage.

import { Client } from 'fhir-kit-client';

const [baseUrl, studyId, identifier, expectedSubjectsArg] = process.argv.slice(2);
if (!baseUrl || !studyId || !identifier) {
  console.error('usage: fhir-client-check.mjs <fhirBaseUrl> <studyId> <identifier> [expectedSubjects]');
  process.exit(2);
}
const expectedSubjects = expectedSubjectsArg === undefined ? undefined : Number(expectedSubjectsArg);

const client = new Client({ baseUrl });
const summary = { ok: true, baseUrl, studyId, identifier, checks: [] };

function check(name, ok, detail) {
  summary.checks.push({ name, ok: Boolean(ok), detail });
  if (!ok) summary.ok = false;
}

// run executes one step; a thrown error (HTTP failure, bad JSON) fails it.
async function run(name, fn) {
  try {
    await fn();
  } catch (err) {
    const status = err?.response?.status;
    check(name, false, `threw: ${err?.message ?? err}${status ? ` (HTTP ${status})` : ''}`);
  }
}

function isSearchset(bundle) {
  return bundle?.resourceType === 'Bundle' && bundle.type === 'searchset' && Number.isInteger(bundle.total);
}

function matches(bundle) {
  return (bundle.entry ?? []).filter((e) => e.search?.mode === 'match');
}

await run('metadata', async () => {
  const cs = await client.capabilityStatement();
  const rest = (cs.rest ?? []).find((r) => r.mode === 'server');
  const res = (type) => (rest?.resource ?? []).find((r) => r.type === type);
  const has = (type, interaction, param) => {
    const r = res(type);
    return Boolean(r)
      && (r.interaction ?? []).some((i) => i.code === interaction)
      && (r.searchParam ?? []).some((p) => p.name === param);
  };
  check('metadata', cs.resourceType === 'CapabilityStatement'
    && cs.fhirVersion === '4.0.1'
    && cs.status === 'active'
    && cs.kind === 'instance'
    && (cs.format ?? []).includes('json')
    && cs.software?.name === 'it4ct'
    && has('ResearchStudy', 'read', 'identifier')
    && has('ResearchStudy', 'search-type', 'identifier')
    && has('ResearchSubject', 'read', 'study')
    && has('ResearchSubject', 'search-type', 'study'),
  `fhirVersion=${cs.fhirVersion} software=${cs.software?.name}/${cs.software?.version} resources=${(rest?.resource ?? []).map((r) => r.type).join(',')}`);
  summary.software = cs.software;
});

await run('read-study', async () => {
  const study = await client.read({ resourceType: 'ResearchStudy', id: studyId });
  check('read-study', study.resourceType === 'ResearchStudy' && study.id === studyId && typeof study.status === 'string',
    `resourceType=${study.resourceType} id=${study.id} status=${study.status}`);
});

await run('search-study-by-identifier', async () => {
  const bundle = await client.search({ resourceType: 'ResearchStudy', searchParams: { identifier } });
  const found = matches(bundle);
  const ids = found.map((e) => e.resource?.id);
  const fullUrlsOk = found.every((e) => e.fullUrl === `${baseUrl.replace(/\/$/, '')}/ResearchStudy/${e.resource?.id}`);
  check('search-study-by-identifier', isSearchset(bundle) && bundle.total === found.length && ids.includes(studyId) && fullUrlsOk
    && found.every((e) => e.resource?.resourceType === 'ResearchStudy'),
  `total=${bundle.total} ids=${ids.join(',')} fullUrlsOk=${fullUrlsOk}`);
  summary.studiesFound = ids;
});

await run('search-subjects-by-study', async () => {
  const bundle = await client.search({ resourceType: 'ResearchSubject', searchParams: { study: `ResearchStudy/${studyId}` } });
  const found = matches(bundle);
  const allOfStudy = found.every((e) => e.resource?.resourceType === 'ResearchSubject'
    && e.resource?.study?.reference === `ResearchStudy/${studyId}`);
  const countOk = expectedSubjects === undefined || found.length === expectedSubjects;
  check('search-subjects-by-study', isSearchset(bundle) && bundle.total === found.length && allOfStudy && countOk,
    `total=${bundle.total} expected=${expectedSubjects ?? 'any'} allOfStudy=${allOfStudy}`);
  summary.subjectsFound = found.length;
  // Reading back each subject by id must give the same resource.
  for (const e of found) {
    const subject = await client.read({ resourceType: 'ResearchSubject', id: e.resource.id });
    if (JSON.stringify(subject) !== JSON.stringify(e.resource)) {
      check('read-subject', false, `ResearchSubject/${e.resource.id} differs from its search entry`);
      return;
    }
  }
  if (found.length > 0) check('read-subject', true, `${found.length} read back`);
});

await run('read-absent-study', async () => {
  const absent = 'it4ct-absent-0';
  try {
    await client.read({ resourceType: 'ResearchStudy', id: absent });
    check('read-absent-study', false, `ResearchStudy/${absent} was found`);
  } catch (err) {
    const status = err?.response?.status;
    const oo = err?.response?.data;
    check('read-absent-study', status === 404 && oo?.resourceType === 'OperationOutcome' && oo.issue?.[0]?.code === 'not-found',
      `HTTP ${status} ${oo?.resourceType} ${oo?.issue?.[0]?.code}`);
  }
});

console.log(JSON.stringify(summary, null, 2));
process.exit(summary.ok ? 0 : 1);
