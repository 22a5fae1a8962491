// Writes the server.json of a release from the committed one: the version
// everywhere it stands, and one MCPB package per bundle with its SHA-256.
//   node serverjson.mjs SERVER_JSON OUT VERSION BUNDLE...
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';

const [src, out, version, ...bundles] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(src, 'utf8'));
const old = s.version;
s.version = version;
for (const p of s.packages) {
  if (p.registryType === 'oci') p.identifier = p.identifier.replace(`:${old}`, `:${version}`);
  if (p.registryType === 'go') p.version = `v${version}`;
}
const base = `${s.repository.url}/releases/download/v${version}`;
for (const b of bundles) {
  const oci = s.packages.find((p) => p.registryType === 'oci');
  s.packages.push({
    registryType: 'mcpb',
    identifier: `${base}/${path.basename(b)}`,
    fileSha256: crypto.createHash('sha256').update(fs.readFileSync(b)).digest('hex'),
    transport: { type: 'stdio' },
    environmentVariables: oci.environmentVariables.filter((e) => e.name === 'TOGETHER_API_KEY'),
  });
}
fs.writeFileSync(out, JSON.stringify(s, null, 2) + '\n');
