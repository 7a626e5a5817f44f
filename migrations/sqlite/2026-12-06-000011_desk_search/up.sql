-- The desk finds a fine by its plate (exact), newest first, and lists the exceptions raised
-- about one fine on its page.
CREATE INDEX fines_by_plate ON fines (plate, issued_at);
CREATE INDEX exceptions_by_fine ON exceptions (decision_no);
