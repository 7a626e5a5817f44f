-- The lookup page's limits, kept where every instance sees them: per limit (`scope`: client
-- addresses, wrong codes per fine) and key, the moment its allowance is whole again (the generic
-- cell-rate algorithm needs no more). A row whose moment has passed says nothing and is pruned.
CREATE TABLE rate_limits (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    refilled_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX rate_limits_by_time ON rate_limits (refilled_at);
