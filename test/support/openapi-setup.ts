// Vitest setup for every project: after each test (and each file), the OpenAPI checks of the answers test/support/
// http.ts saw must have passed; a mismatch fails that test.
import { afterAll, afterEach } from "vitest";
import { settleDocumentChecks } from "./http.js";

afterEach(settleDocumentChecks);
afterAll(settleDocumentChecks);
