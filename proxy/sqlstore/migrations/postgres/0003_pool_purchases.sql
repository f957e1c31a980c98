-- voiceproxy schema, version 3 (PostgreSQL): what the pool autopilot
-- bought. bought_at is when it bought the number (the zero time for
-- numbers added otherwise), monthly_cost the rental it was bought at
-- (EUR); they feed its budget. The index finds the legs of a number, for
-- releasing idle numbers.
ALTER TABLE vp_numbers ADD COLUMN bought_at timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00';
ALTER TABLE vp_numbers ADD COLUMN monthly_cost double precision NOT NULL DEFAULT 0;
CREATE INDEX vp_legs_number ON vp_legs (proxy_number, released_at);
