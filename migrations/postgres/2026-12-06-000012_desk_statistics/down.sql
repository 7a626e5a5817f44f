DROP INDEX fines_for_stats;
CREATE INDEX fines_for_stats
    ON fines (((issued_at + interval '8 hours')::date), district_code, status, paid_channel, amount_fen, issued_at);
