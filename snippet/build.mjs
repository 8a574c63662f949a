// Builds dist/: the stable loader dni.js (short cache), content-hashed copies (cached a
// year) and the lazily loaded callback widget. Prints raw and gzip sizes and fails when
// the core is over its budget.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { transformSync } from 'esbuild';

// gzip bytes; SNIPPET_BUDGET lowers it only to prove the check bites (tests).
const CORE_BUDGET = Math.min(3200, Number(process.env.SNIPPET_BUDGET) || Infinity);
const TARGET = ['chrome64', 'firefox67', 'safari12', 'edge79'];
const src = new URL('./src/', import.meta.url);
const dist = new URL('./dist/', import.meta.url);

function minify(file, define = {}) {
  const code = readFileSync(new URL(file, src), 'utf8');
  return transformSync(code, { minify: true, target: TARGET, define, legalComments: 'none' }).code;
}

function hashed(name, code) {
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 10);
  return name.replace(/\.js$/, `.${hash}.js`);
}

function sizes(name, code) {
  const raw = Buffer.byteLength(code);
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`${name.padEnd(28)} ${String(raw).padStart(6)} B raw ${String(gz).padStart(6)} B gzip`);
  return gz;
}

const widget = minify('callback.js');
const widgetName = hashed('callback.js', widget);
const core = minify('dni.js', { __WIDGET__: JSON.stringify(widgetName) });
const coreName = hashed('dni.js', core);

const coreGzip = sizes(coreName, core);
sizes(widgetName, widget);
if (coreGzip > CORE_BUDGET) {
  console.error(`dni.js is ${coreGzip} B gzip, over its budget of ${CORE_BUDGET} B: nothing written`);
  process.exit(1);
}
console.log(`dni.js within budget: ${coreGzip} / ${CORE_BUDGET} B gzip`);

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
const files = { 'dni.js': core, [coreName]: core, 'callback.js': widget, [widgetName]: widget };
for (const [name, code] of Object.entries(files)) writeFileSync(new URL(name, dist), code);
writeFileSync(new URL('manifest.json', dist),
  JSON.stringify({ 'dni.js': coreName, 'callback.js': widgetName }, null, 2) + '\n');
