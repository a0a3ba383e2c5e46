// `npm run import:php -- <mysql URL of the PHP database> [--dry-run] [--json] [--batch=N] [--source-tz=±HH:MM]`
// (built: `node dist/src/import-cli.js …`). This registrar's settings come from the environment, as for `npm start`.
import { ConfigError, loadConfig } from "./config.js";
import { IMPORT_DEFAULTS, importPhp } from "./import/php-import.js";
import { SourceError } from "./import/php-source.js";
import { formatReport } from "./import/report.js";

const USAGE = `usage: import:php <mysql://user:password@host:port/php_database> [--dry-run] [--json] [--batch=N] [--source-tz=+00:00]
  --dry-run     read everything and report what would happen; write nothing
  --json        print the report as JSON instead of text
  --batch=N     servers per transaction (default ${IMPORT_DEFAULTS.batchSize})
  --source-tz   time zone the PHP database wrote its DATETIMEs in (default ${IMPORT_DEFAULTS.sourceTimeZone})
This registrar's database and settings are read from the environment (DATABASE_URL, OFFLINE_AFTER_S, ...), as by npm start.`;

type Args = { sourceUrl: string; dryRun: boolean; json: boolean; batchSize: number; sourceTimeZone: string };

function parseArgs(argv: string[]): Args {
  const args: Args = { sourceUrl: "", dryRun: false, json: false, batchSize: IMPORT_DEFAULTS.batchSize, sourceTimeZone: IMPORT_DEFAULTS.sourceTimeZone };
  for (const a of argv) {
    if (a === "--dry-run") args.dryRun = true;
    else if (a === "--json") args.json = true;
    else if (a.startsWith("--batch=")) {
      args.batchSize = Number(a.slice(8));
      if (!Number.isInteger(args.batchSize) || args.batchSize < 1 || args.batchSize > 5000) throw new UsageError("--batch must be an integer 1–5000");
    } else if (a.startsWith("--source-tz=")) {
      args.sourceTimeZone = a.slice(12);
      if (!/^[+-](0\d|1[0-4]):[0-5]\d$/.test(args.sourceTimeZone)) throw new UsageError("--source-tz must look like +00:00 or -05:00");
    } else if (a === "--help" || a === "-h") throw new UsageError("");
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (args.sourceUrl) throw new UsageError("give exactly one PHP database URL");
    else args.sourceUrl = a;
  }
  if (!args.sourceUrl) throw new UsageError("the PHP database URL is missing");
  return args;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (!err.message) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const config = loadConfig();
    const report = await importPhp({
      config,
      sourceUrl: args.sourceUrl,
      dryRun: args.dryRun,
      batchSize: args.batchSize,
      sourceTimeZone: args.sourceTimeZone,
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${args.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return 0;
  } catch (err) {
    // Named failures get one line; anything else is a bug worth its stack. Neither prints a password: the URLs in
    // these messages are the display forms.
    if (err instanceof ConfigError) process.stderr.write(`config error: ${err.message}\n`);
    else if (err instanceof SourceError) process.stderr.write(`import failed: ${err.message}\n`);
    else process.stderr.write(`import failed: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

process.exitCode = await main();
