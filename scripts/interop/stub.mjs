// A stand-in for Together's secrets API, and the deployments it needs, on
// loopback, written apart from the server's own sandbox so the two cannot
// share a mistake. It echoes the value in a field the API does not
// document, as a careless API might, and its one deployment holds the
// canary in a plain variable, as careless people do.
import http from 'node:http';

const key = process.env.STUB_KEY;
const secrets = new Map(); // id -> metadata
let n = 0;
const now = () => new Date().toISOString();
const find = (idOrName) => secrets.get(idOrName) ?? [...secrets.values()].find((s) => s.name === idOrName);
const deployment = {
  object: 'deployment', id: 'dep-1', name: 'interop-eval', status: 'Ready', image: 'img', created_at: now(), updated_at: now(),
  environment_variables: [{ name: 'MODEL', value: 'llama' }, { name: 'DB_PASSWORD', value: `${process.env.VALUE}-plain` }],
};
// deployments answers the deployments API: list, retrieve, and an update
// that replaces the whole list of variables, each a value or a reference.
const deployments = (req, url, b, send) => {
  if (url.pathname === '/v1/deployments' && req.method === 'GET') return send(200, { object: 'list', data: [deployment] });
  const id = decodeURIComponent(url.pathname.slice('/v1/deployments/'.length));
  if (id !== deployment.id && id !== deployment.name) return send(404, { error: { message: `deployment ${id} not found` } });
  if (req.method === 'GET') return send(200, deployment);
  if (req.method !== 'PATCH') return send(405, { message: 'method not allowed' });
  const vars = b.environment_variables;
  if (!Array.isArray(vars) || vars.some((v) => !v.name || (v.value === undefined) === (v.value_from_secret === undefined))) {
    return send(400, { error: { message: 'each variable needs a name and exactly one of value and value_from_secret' } });
  }
  deployment.environment_variables = vars;
  deployment.updated_at = now();
  deployment.status = 'Updating';
  return send(200, deployment);
};

http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const send = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
    if (req.headers.authorization !== `Bearer ${key}`) return send(401, { error: { message: 'Invalid API key' } });
    const url = new URL(req.url, 'http://x');
    const prefix = '/v1/deployments/secrets';
    const b = body ? JSON.parse(body) : {};
    if (!url.pathname.startsWith(prefix) && url.pathname.startsWith('/v1/deployments')) return deployments(req, url, b, send);
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'not found' });
    const id = decodeURIComponent(url.pathname.slice(prefix.length + 1));
    if (req.method === 'POST' && !id) {
      if (find(b.name)) return send(409, { error: { message: `secret ${b.name} already exists` } });
      const s = { object: 'secret', id: `sec-${++n}`, name: b.name, description: b.description ?? '', created_at: now(), updated_at: now(), created_by: 'u', last_updated_by: 'u' };
      secrets.set(s.id, s);
      return send(200, { ...s, value: b.value });
    }
    if (req.method === 'GET' && !id) return send(200, { object: 'list', data: [...secrets.values()] });
    const s = find(id);
    if (!s) return send(404, { error: { message: `secret ${id} not found` } });
    if (req.method === 'GET') return send(200, s);
    if (req.method === 'PATCH') {
      if (b.name !== undefined) s.name = b.name;
      if (b.description !== undefined) s.description = b.description;
      s.updated_at = now();
      return send(200, { ...s, value: b.value });
    }
    if (req.method === 'DELETE') { secrets.delete(s.id); return send(200, { id: s.id, deleted: true }); }
    return send(405, { message: 'method not allowed' });
  });
}).listen(Number(process.env.STUB_PORT), '127.0.0.1');
