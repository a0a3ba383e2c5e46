// `npm run migrate`: applies pending migrations to DATABASE_URL and exits.
import { loadConfig } from "./config.js";
import { migrate } from "./store/migrate.js";

const config = loadConfig();
const applied = await migrate(config.databaseUrl);
console.log(JSON.stringify({ msg: "migrations applied", applied }));
