// `npm run admin -- <command>`: the operator's command-line tool (contract §8.5); see src/trust/admin-cli.ts.
import { runAdmin } from "./trust/admin-cli.js";

process.exitCode = await runAdmin(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
