// Loaded before every test file (bunfig.toml). Keeps test output quiet and
// deterministic: no .env from the developer's working copy leaks into tests.
process.env.PRESCIENT_LOG_LEVEL ??= '1'
process.env.PRESCIENT_ENV_FILE ??= '/nonexistent/.env'
for (const k of ['DATABASE_URL', 'POSTGRES_HOST', 'POSTGRES_DB', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'PGHOST', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PRESCIENT_PHASE', 'USE_DATABASE_WRITE', 'USE_DATABASE_READ']) {
  delete process.env[k]
}
