// Drives the server with the official TypeScript SDK: lists the tools and
// runs every one of them, letting the SDK validate each structured result
// against the tool's output schema. Prints what it received.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [bin, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({
  command: bin, args,
  env: { PATH: process.env.PATH, TOGETHER_API_KEY: process.env.STUB_KEY, TOGETHER_BASE_URL: process.env.BASE },
  stderr: 'pipe',
});
let stderr = '';
transport.stderr?.on('data', (d) => { stderr += d; });
const client = new Client({ name: 'interop-ts', version: '1' });
await client.connect(transport);
console.log('tools:', (await client.listTools()).tools.map((t) => t.name).join(','));
const calls = [
  ['create_secret', { name: 'interop/TOKEN', value: process.env.VALUE, description: 'interop' }],
  ['create_secret', { name: 'interop/TOKEN', value: process.env.VALUE }],
  ['attach_secret', { deployment: 'interop-eval', variable: 'TOKEN', secret: 'interop/TOKEN' }],
  ['list_secrets', { name_prefix: 'interop/', include_usage: true }],
  ['get_secret', { id: 'interop/TOKEN' }],
  ['update_secret', { id: 'interop/TOKEN', value: process.env.VALUE + '-rotated' }],
  // Refused: the deployment uses it.
  ['delete_secret', { id: 'interop/TOKEN' }],
  ['attach_secret', { deployment: 'interop-eval', variable: 'TOKEN', detach: true }],
  ['delete_secret', { id: 'interop/TOKEN' }],
  ['import_env_file', { prefix: 'interop/env/', dry_run: true }],
  ['import_env_file', { prefix: 'interop/env/' }],
  // This client declares no URL elicitation: the link comes back at once.
  ['request_secret_from_user', { name: 'interop/FROM_USER', description: 'typed by the user' }],
];
for (const [name, a] of calls) {
  const r = await client.callTool({ name, arguments: a });
  console.log(name, r.isError ? 'error:' : 'ok:', JSON.stringify(r));
}
await client.close();
process.stderr.write(stderr);
