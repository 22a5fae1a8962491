// A stand-in for Together's secrets API on loopback, written apart from the
// server's own sandbox so the two cannot share a mistake. It echoes the
// value in a field the API does not document, as a careless API might.
import http from 'node:http';

const key = process.env.STUB_KEY;
const secrets = new Map(); // id -> metadata
let n = 0;
const now = () => new Date().toISOString();
const find = (idOrName) => secrets.get(idOrName) ?? [...secrets.values()].find((s) => s.name === idOrName);

http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const send = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
    if (req.headers.authorization !== `Bearer ${key}`) return send(401, { error: { message: 'Invalid API key' } });
    const url = new URL(req.url, 'http://x');
    const prefix = '/v1/deployments/secrets';
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'not found' });
    const id = decodeURIComponent(url.pathname.slice(prefix.length + 1));
    const b = body ? JSON.parse(body) : {};
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
