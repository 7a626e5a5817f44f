DROP INDEX fines_for_stats;
