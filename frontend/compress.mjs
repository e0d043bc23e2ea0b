// Trunk's post-build hook: every file of the built page is also written compressed, as
// `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip -9), so the lab serves the smallest one a
// browser accepts without compressing on every request. Then it prints what a learner downloads.
// Node's own zlib does both; ./lab already installs Node for binaryen.
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dir = process.env.TRUNK_STAGING_DIR ?? process.argv[2];
if (!dir) {
  console.error("compress.mjs: no TRUNK_STAGING_DIR (run it from trunk, or pass the folder)");
  process.exit(2);
}
const total = { raw: 0, br: 0, gz: 0 };
let wasm = 0;
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (!statSync(path).isFile() || name.endsWith(".br") || name.endsWith(".gz")) continue;
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(path + ".br", br);
  writeFileSync(path + ".gz", gz);
  total.raw += raw.length;
  total.br += br.length;
  total.gz += gz.length;
  if (name.endsWith(".wasm")) wasm = raw.length;
}
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
console.log(
  `page weight: wasm ${kb(wasm)} (budget 700 KB); on the wire ${kb(total.br)} with brotli ` +
    `(target 205 KB), ${kb(total.gz)} with gzip, ${kb(total.raw)} uncompressed`,
);
