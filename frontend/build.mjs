// Bundles src/editor.js (GrapesJS + grapesjs-mjml + our editor) into static/engagex/editor/.
// `make assets` runs `npm ci` and then this; the output is committed so that `make run` and
// CI need no Node.js. `node build.mjs --dev` writes an unminified bundle with a source map
// (not committed) for debugging.
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "static", "engagex", "editor");
const dev = process.argv.includes("--dev");
mkdirSync(outdir, { recursive: true });

await build({
  entryPoints: { editor: join(here, "src", "editor.js") },
  outdir,
  bundle: true,
  minify: !dev,
  sourcemap: dev ? "linked" : false,
  // An ES module (loaded with type="module"): V8 compiles a 2.5 MB IIFE eagerly (it looks
  // like a function called at once), which cost ~0.2 s of load in bench/editor_load.py.
  format: "esm",
  target: ["es2019"],
  platform: "browser",
  // The packages' /*! … */ and @license comments stay in the bundle, at its end.
  legalComments: "eof",
  logLevel: "warning",
  metafile: false,
});

// Their licences (BSD-3-Clause and MIT ask that the notices travel with the code) beside it.
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const bundled = Object.entries(lock.packages)
  .filter(([path, info]) => path.startsWith("node_modules/") && !info.dev)
  .filter(([path]) => !path.startsWith("node_modules/@types/")) // type definitions only
  .map(([path, info]) => ({ name: path.slice("node_modules/".length), ...info }))
  .sort((a, b) => a.name.localeCompare(b.name));
let notices = "Third-party software bundled in editor.js and editor.css\n\n";
for (const pkg of bundled) {
  const folder = join(here, "node_modules", pkg.name);
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license", "LICENCE"]
    .map((name) => join(folder, name))
    .find((path) => existsSync(path));
  notices += `${"=".repeat(78)}\n${pkg.name} ${pkg.version} (${pkg.license || "see package"})\n`;
  notices += `${"=".repeat(78)}\n${file ? readFileSync(file, "utf8").trim() : "(no licence file shipped)"}\n\n`;
}
writeFileSync(join(outdir, "LICENSES.txt"), notices);
