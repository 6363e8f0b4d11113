// __NAME__: a minimal HTTP server using only Node's standard library.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

const port = Number(process.env.PORT ?? 3000);

const server = createServer(async (req, res) => {
  if (req.url === '/healthz') {
    res.end('ok\n');
    return;
  }
  // public/ is synced into the running container by devloop (no rebuild): edit it and reload.
  try {
    const page = await readFile(new URL('./public/index.html', import.meta.url));
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page);
  } catch {
    res.end('hello from __NAME__\n');
  }
});

server.listen(port, () => console.log(`__NAME__ listening on :${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
