-- When the fleet watch began to watch each device. Availability counts a
-- device's required hours from then on only: time before it was watched
-- is neither available nor down, for there is no evidence either way.
ALTER TABLE devices ADD COLUMN watched_since TIMESTAMP;
