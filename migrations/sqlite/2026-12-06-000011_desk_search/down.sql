DROP INDEX exceptions_by_fine;
DROP INDEX fines_by_plate;
