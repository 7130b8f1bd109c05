#!/usr/bin/env node
// Writes users.json and permissions.json for the example RBAC bundle.
// Deterministic (fixed seed, no clock), so the committed output is reproducible:
//   node policies/rbac/gen-users.mjs [out-dir]   (default: this folder)
// The size (a few hundred users and roles) is what the benchmark relies on.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const outDir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
const TEAMS = 100;
const GENERATED_USERS = 400;

// Hand-written roles; docs and tests rely on these.
const BASE_PERMISSIONS = {
  admin: [{ methods: ['*'], path: '/**' }],
  editor: [{ methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH'], prefix: '/api/' }],
  viewer: [{ methods: ['GET', 'HEAD'], prefix: '/api/' }],
  auditor: [
    { methods: ['GET'], path: '/api/audit/**' },
    { methods: ['GET'], path: '/admin/audit/**' },
  ],
  support: [
    { methods: ['GET'], path: '/api/users/*' },
    { methods: ['GET', 'POST'], path: '/api/tickets/**' },
  ],
};

// Named users the tests and README use.
const NAMED_USERS = {
  alice: ['admin'],
  bob: ['viewer'],
  carol: ['editor'],
  dave: ['auditor'],
  erin: ['support', 'team-007-member'],
  frank: ['team-042-lead'],
  mallory: [],
};

const pad = (n) => String(n).padStart(3, '0');

const permissions = { ...BASE_PERMISSIONS };
for (let t = 1; t <= TEAMS; t++) {
  const base = `/api/teams/${pad(t)}`;
  permissions[`team-${pad(t)}-member`] = [{ methods: ['GET', 'HEAD'], path: `${base}/**` }];
  permissions[`team-${pad(t)}-lead`] = [
    { methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], path: `${base}/**` },
    { methods: ['GET'], path: `/api/reports/${pad(t)}/*` },
  ];
}

// mulberry32: tiny seeded PRNG, so the output never changes between runs.
let seed = 0x1ac0da5;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(rand() * list.length)];

const users = { ...NAMED_USERS };
const baseRoles = ['viewer', 'viewer', 'editor', 'auditor', 'support'];
for (let i = 1; i <= GENERATED_USERS; i++) {
  const roles = new Set();
  const team = pad(1 + Math.floor(rand() * TEAMS));
  roles.add(rand() < 0.15 ? `team-${team}-lead` : `team-${team}-member`);
  if (rand() < 0.4) roles.add(pick(baseRoles));
  if (rand() < 0.2) roles.add(`team-${pad(1 + Math.floor(rand() * TEAMS))}-member`);
  users[`user-${pad(i)}`] = [...roles].sort();
}

// One entry per line keeps the files short and their diffs readable.
function render(key, entries) {
  const lines = Object.entries(entries).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n  ${JSON.stringify(key)}: {\n${lines.join(',\n')}\n  }\n}\n`;
}

const userObjects = Object.fromEntries(Object.entries(users).map(([name, roles]) => [name, { roles }]));
writeFileSync(join(outDir, 'users.json'), render('users', userObjects));
writeFileSync(join(outDir, 'permissions.json'), render('permissions', permissions));
console.log(
  `wrote ${Object.keys(users).length} users and ${Object.keys(permissions).length} roles to ${outDir}`,
);
