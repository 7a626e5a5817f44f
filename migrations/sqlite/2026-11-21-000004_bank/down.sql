DROP TABLE bank_statements;
DROP TABLE bank_payments;
