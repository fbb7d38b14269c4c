-- 00002: what the seed's schema needs so that JSON and PostgreSQL can hold the same facts.

-- 1. Every timestamp is stored with its time zone. The seed's TIMESTAMP columns
--    held naive local times; the JSON files hold UTC, so existing values are read as UTC.
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND data_type = 'timestamp without time zone'
      AND table_name IN ('portfolio_snapshots','portfolio_state','portfolio_positions','trades','trading_signals',
                         'signal_archives','events','markets','market_snapshots','portfolio_history','system_metadata')
  LOOP
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE TIMESTAMPTZ USING %I AT TIME ZONE ''UTC''', r.table_name, r.column_name, r.column_name);
  END LOOP;
END $$;

-- 2. A settled trade keeps its exit (the seed only had it on positions, which close).
ALTER TABLE trades ADD COLUMN exit_price DECIMAL(10, 6);
ALTER TABLE trades ADD COLUMN exit_timestamp TIMESTAMPTZ;

-- 3. Natural keys, so imports and catch-up writes are idempotent upserts.
CREATE UNIQUE INDEX uq_signals_market_time ON trading_signals(market_id, timestamp);
CREATE UNIQUE INDEX uq_signal_archives_archived_at ON signal_archives(archived_at);
DROP INDEX idx_portfolio_history_date;
CREATE UNIQUE INDEX uq_portfolio_history_date ON portfolio_history(snapshot_date DESC);
CREATE UNIQUE INDEX uq_market_snapshots_market_time ON market_snapshots(market_id, timestamp);
CREATE UNIQUE INDEX uq_portfolio_snapshots_timestamp ON portfolio_snapshots(timestamp);
DROP INDEX idx_market_snapshots_market_id;

-- 4. Two seed indexes duplicate the UNIQUE constraint's own index; they only cost writes.
DROP INDEX idx_events_event_id;
DROP INDEX idx_markets_market_id;

-- 5. Open positions of one market are read every cycle.
CREATE INDEX idx_trades_open_market ON trades(market_id) WHERE status = 'open';

UPDATE system_metadata SET value = '2', updated_at = NOW() WHERE key = 'schema_version';
