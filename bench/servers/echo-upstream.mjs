#!/usr/bin/env node
/**
 * The upstream behind Envoy in scenarios C and D: answers every request
 * with 200 and a JSON echo of what it received (method, path, headers as
 * sent, body), so a check can see what a filter changed. Lean on purpose:
 * it runs on the generator core and every contender pays the same for it.
 *
 *   node servers/echo-upstream.mjs --port P
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' } }, strict: true });

/** Header names lowercased; a repeated header becomes an array, in arrival order. */
function grouped(raw) {
  const out = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1] : Array.isArray(prev) ? [...prev, raw[i + 1]] : [prev, raw[i + 1]];
  }
  return out;
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const payload = Buffer.from(JSON.stringify({ method: req.method, path: req.url, headers: grouped(req.rawHeaders), body: Buffer.concat(chunks).toString('utf8') }));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length }).end(payload);
  });
});
// Envoy pools upstream connections: Node's 5 s idle close would race its reuse (a 503 under load).
server.keepAliveTimeout = 0;
server.listen({ host: '127.0.0.1', port: Number(values.port) }, () => process.stdout.write(`listening ${server.address().port}\n`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
