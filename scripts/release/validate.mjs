// Validates server.json files against the registry's published schema (a
// copy in packaging/schemas), with formats checked.
//   node validate.mjs SCHEMA FILE...
import fs from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [schemaPath, ...files] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
let bad = 0;
for (const f of files) {
  if (validate(JSON.parse(fs.readFileSync(f, 'utf8')))) {
    console.log(`${f}: valid`);
  } else {
    bad++;
    console.log(`${f}: INVALID`, JSON.stringify(validate.errors, null, 2));
  }
}
process.exit(bad ? 1 : 0);
