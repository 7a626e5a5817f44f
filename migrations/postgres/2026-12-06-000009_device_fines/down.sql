DROP INDEX fines_by_device;
