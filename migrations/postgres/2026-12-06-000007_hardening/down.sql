-- Held and implausibly dated payments, and interrupted imports, cannot be kept under the old
-- states: undoing this migration fails (the CHECK is violated) while any exists.
ALTER TABLE payments DROP CONSTRAINT payments_outcome_check;
ALTER TABLE payments ADD CONSTRAINT payments_outcome_check CHECK (outcome IN ('applied', 'refund'));
ALTER TABLE bank_payments DROP CONSTRAINT bank_payments_outcome_check;
ALTER TABLE bank_payments ADD CONSTRAINT bank_payments_outcome_check CHECK (outcome IN ('settled', 'already_known',
    'duplicate_payment', 'amount_mismatch', 'unmatched', 'fine_void', 'reversed'));
DROP INDEX bank_statements_by_status;
ALTER TABLE bank_statements DROP CONSTRAINT bank_statements_status_check;
ALTER TABLE bank_statements ADD CONSTRAINT bank_statements_status_check
    CHECK (status IN ('importing', 'complete', 'malformed', 'refused'));
ALTER TABLE bank_statements DROP COLUMN touched_at;
