// The conformance suite sends no Authorization header, and every request to
// the server in HTTP mode needs one: this proxy adds a sandbox key to each
// request and passes everything else through unchanged, Host included.
//   node proxy.mjs LISTEN_PORT TARGET_PORT
// A LISTEN_PORT of 0 takes a free port; the port listened on is printed.
import http from 'node:http';

const [listen, target] = process.argv.slice(2).map(Number);
http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: 'Bearer conformance-sandbox-key' };
  const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  req.pipe(up);
}).listen(listen, '127.0.0.1', function () {
  console.log(this.address().port);
});
