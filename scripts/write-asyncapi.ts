// Writes docs/asyncapi.json from the zod message schemas (npm run docs:asyncapi); a unit test keeps it current.
import { readFileSync, writeFileSync } from "node:fs";
import { asyncApiDocument } from "../src/ws/asyncapi.js";

const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
writeFileSync(new URL("../docs/asyncapi.json", import.meta.url), `${JSON.stringify(asyncApiDocument(version), null, 2)}\n`);
