// Vendors Chart.js (MIT; its licence header stays in the file) into the folder the app
// serves the dashboard from, so `chalice package` ships it. Run: npm ci && npm run build.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "node_modules", "chart.js", "dist", "chart.umd.min.js");
const target = join(here, "..", "chalicelib", "reports", "dashboard_static", "chart.umd.min.js");
// The source map is not shipped: drop its reference so browsers don't ask for it.
const code = readFileSync(source, "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
writeFileSync(target, code);
console.log(`chart.umd.min.js: ${code.length} bytes -> ${target}`);
