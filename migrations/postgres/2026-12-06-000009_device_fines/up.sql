-- The officer app lists a handheld's fines of a day: by district, device and issue time.
CREATE INDEX fines_by_device ON fines (district_code, device_id, issued_at);
