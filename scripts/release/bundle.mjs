// Writes the MCP Bundle manifest for one platform from the template:
// the version, the binary's name and the platform it runs on.
//   node bundle.mjs TEMPLATE OUT VERSION GOOS
import fs from 'node:fs';

const [template, out, version, goos] = process.argv.slice(2);
const m = JSON.parse(fs.readFileSync(template, 'utf8'));
const exe = goos === 'windows' ? 'together-secrets-mcp.exe' : 'together-secrets-mcp';
m.version = version;
m.server.entry_point = `server/${exe}`;
m.server.mcp_config.command = `\${__dirname}/server/${exe}`;
m.compatibility.platforms = [{ darwin: 'darwin', linux: 'linux', windows: 'win32' }[goos]];
fs.writeFileSync(out, JSON.stringify(m, null, 2) + '\n');
