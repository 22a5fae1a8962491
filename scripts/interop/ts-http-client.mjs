// Drives the server in HTTP mode with the official TypeScript SDK's
// streamable HTTP client, sending the caller's key as a bearer token, and
// letting the SDK validate each structured result against its schema.
//   node ts-http-client.mjs URL KEY
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, key] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: 'interop-ts-http', version: '1' });
await client.connect(transport);
console.log('protocol:', transport.protocolVersion ?? '(negotiated)');
console.log('tools:', (await client.listTools()).tools.map((t) => t.name).join(','));
const calls = [
  ['create_secret', { name: 'interop/HTTP_TOKEN', value: process.env.VALUE, description: 'interop over HTTP' }],
  ['list_secrets', { name_prefix: 'interop/HTTP' }],
  ['get_secret', { id: 'interop/HTTP_TOKEN' }],
  ['update_secret', { id: 'interop/HTTP_TOKEN', value: process.env.VALUE + '-rotated' }],
  // A link to the team page, which the script then submits as the user.
  ['request_secret_from_user', { name: 'interop/HTTP_FROM_USER', description: 'typed on the team page' }],
];
for (const [name, a] of calls) {
  const r = await client.callTool({ name, arguments: a });
  console.log(name, r.isError ? 'error:' : 'ok:', JSON.stringify(r));
  if (r.isError) process.exitCode = 1;
}
await client.close();
