// `npm run migrate`: applies pending migrations to DATABASE_URL (with its TLS options) and exits.
import { ConfigError, loadConfig } from "./config.js";
import { migrate } from "./store/migrate.js";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // The same one line as main.ts: the variable named, a password in a URL never shown.
  process.stderr.write(`config error: ${err.message}\n`);
  process.exit(1);
}
const applied = await migrate(config.database);
console.log(JSON.stringify({ msg: "migrations applied", applied }));
