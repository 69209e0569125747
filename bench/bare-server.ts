// Baseline for the ingest benchmark: the least a receiver can do with a report. Reads the body,
// JSON.parse, answers 200 with the echo (what the vendor's sample server does), nothing stored.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400).end();
      return;
    }
    const echo = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(echo) });
    res.end(echo);
  });
});
// Same keep-alive timeout as Fastify's default, so connections behave the same for both.
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`bare server listening on http://127.0.0.1:${port}/DeviceStatus`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
