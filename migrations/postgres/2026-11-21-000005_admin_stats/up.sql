-- Admin statistics: the dashboard and GET /admin/api/stats count fines by Beijing issue day,
-- district, status and paid channel over a range of days. The index is keyed by that same
-- grouping (the Beijing day: issued_at is UTC, Beijing a fixed +08:00), so a range of days is
-- read in group order, and it holds every column the query reads (issued_at too, which an
-- index-only scan of an expression needs). Its cost: one more index entry per issue, updated
-- when a fine's status or channel changes.
CREATE INDEX fines_for_stats
    ON fines (((issued_at + interval '8 hours')::date), district_code, status, paid_channel, amount_fen, issued_at);
