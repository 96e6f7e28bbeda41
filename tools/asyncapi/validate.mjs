// Validates an AsyncAPI document with the reference parser: `node validate.mjs < document.json`.
// Prints every diagnostic as one JSON line ({severity, code, message, path}); exits 1 when any is
// an error (severity 0) or the document cannot be parsed at all, else 0.
import { Parser } from '@asyncapi/parser';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString('utf8');

const { document, diagnostics } = await new Parser().parse(text);
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === 0) errors += 1;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
if (document === undefined && errors === 0) errors = 1;
process.exit(errors > 0 ? 1 : 0);
