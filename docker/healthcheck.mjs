// Container healthcheck for the broker and console images:
// `node healthcheck.mjs <url>` exits 0 when the URL answers 2xx within 4 s.
// Node's own fetch, so the images need no curl or wget.
const url = process.argv[2];
if (!url) {
  console.error("usage: node healthcheck.mjs <url>");
  process.exit(2);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) console.error(`${url}: HTTP ${res.status}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
