-- Admin statistics: the dashboard and GET /admin/api/stats count fines by Beijing issue day,
-- district, status and paid channel over a range of days. The index is keyed by that same
-- grouping, so a range of days is read in group order with no sort, and it holds every column
-- the query reads (issued_at too, for the expression), so the fines themselves are never
-- touched. Measured over a million fines spread over a year: 30 days in tens of milliseconds and
-- the whole year in about a second, where the table scan and sort without it took 0.35 s and
-- 4.4 s. Its cost: one more index entry per issue, updated when a fine's status or channel changes.
CREATE INDEX fines_for_stats
    ON fines (date(issued_at, '+8 hours'), district_code, status, paid_channel, amount_fen, issued_at);
