-- A payment dated where it cannot be true (before its order was opened or its fine issued, or
-- after now) is kept but neither pays nor prices anything: a channel's payment is `held`, a
-- bank's ends `implausible_date`, and each is raised as an exception for a person. A statement
-- import says it is alive (`touched_at`, after every batch); one that stopped saying so was
-- killed, and is marked `interrupted` instead of staying `importing` for good.
ALTER TABLE payments DROP CONSTRAINT payments_outcome_check;
ALTER TABLE payments ADD CONSTRAINT payments_outcome_check CHECK (outcome IN ('applied', 'refund', 'held'));
ALTER TABLE bank_payments DROP CONSTRAINT bank_payments_outcome_check;
ALTER TABLE bank_payments ADD CONSTRAINT bank_payments_outcome_check CHECK (outcome IN ('settled', 'already_known',
    'duplicate_payment', 'amount_mismatch', 'unmatched', 'fine_void', 'reversed', 'implausible_date'));
ALTER TABLE bank_statements ADD COLUMN touched_at TIMESTAMP;
UPDATE bank_statements SET touched_at = imported_at;
ALTER TABLE bank_statements DROP CONSTRAINT bank_statements_status_check;
ALTER TABLE bank_statements ADD CONSTRAINT bank_statements_status_check
    CHECK (status IN ('importing', 'complete', 'malformed', 'refused', 'interrupted'));
CREATE INDEX bank_statements_by_status ON bank_statements (status);
