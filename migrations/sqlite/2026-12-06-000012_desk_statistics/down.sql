DROP INDEX fines_for_stats;
CREATE INDEX fines_for_stats
    ON fines (date(issued_at, '+8 hours'), district_code, status, paid_channel, amount_fen, issued_at);
