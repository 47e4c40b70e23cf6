// Validate an AsyncAPI document with the official parser; print every diagnostic and exit 1 on
// an error. Usage: node validate_asyncapi.mjs docs/asyncapi.yaml
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
for (const d of diagnostics) {
  console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code} ${d.path.join(".")}: ${d.message}`);
}
if (errors.length || !document) process.exit(1);
console.log(`valid: ${document.channels().length} channels, ${document.allMessages().length} messages`);
