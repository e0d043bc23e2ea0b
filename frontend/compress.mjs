// Trunk's post-build hook: every file of the built page is also written compressed, as
// `<file>.br` (brotli, quality 11, the smallest of three block sizes) and `<file>.gz` (gzip -9),
// so the lab serves the smallest one a browser accepts without compressing on every request.
// Then it prints what a learner downloads.
// Node's own zlib does both; ./lab already installs Node for binaryen.
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dir = process.env.TRUNK_STAGING_DIR ?? process.argv[2];
if (!dir) {
  console.error("compress.mjs: no TRUNK_STAGING_DIR (run it from trunk, or pass the folder)");
  process.exit(2);
}
// Every file gets its twins; the weight printed is the page's as `tests/api.rs` counts it (and a
// browser downloads it): index.html and the wasm, scripts and styles it loads, not the other
// files of the folder (words.html, opened only from a link).
const sizes = new Map();
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (!statSync(path).isFile() || name.endsWith(".br") || name.endsWith(".gz")) continue;
  const raw = readFileSync(path);
  // Brotli's block size changes how well it codes a file, by a few hundred bytes of the wasm
  // either way, and which is best differs from file to file and build to build: every size is
  // a valid stream for any browser, so each file keeps the smallest of the default and two others.
  const br = [0, 16, 17]
    .map((lgblock) =>
      brotliCompressSync(raw, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
          ...(lgblock ? { [constants.BROTLI_PARAM_LGBLOCK]: lgblock } : {}),
        },
      }),
    )
    .reduce((a, b) => (b.length < a.length ? b : a));
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(path + ".br", br);
  writeFileSync(path + ".gz", gz);
  sizes.set(name, { raw: raw.length, br: br.length, gz: gz.length });
}
const html = readFileSync(join(dir, "index.html"), "utf8");
const loaded = new Set(["index.html"]);
// Quoted or not: Trunk minifies the HTML (`href=/style-….css`; the script's '…_bg.wasm').
for (const [, url] of html.matchAll(/[="'\s]([^"'\s=>]+\.(?:wasm|js|css))(?=["'\s>])/g)) loaded.add(url.split("/").pop());
const total = { raw: 0, br: 0, gz: 0 };
let wasm = 0;
for (const name of loaded) {
  const size = sizes.get(name);
  if (!size) continue;
  total.raw += size.raw;
  total.br += size.br;
  total.gz += size.gz;
  if (name.endsWith(".wasm")) wasm = size.raw;
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `page weight: wasm ${kb(wasm)} (budget 700 KB); on the wire ${kb(total.br)} with brotli ` +
    `(the learners' page's budget: 217 KB), ${kb(total.gz)} with gzip, ${kb(total.raw)} uncompressed`,
);
