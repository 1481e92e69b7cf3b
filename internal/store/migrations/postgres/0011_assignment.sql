-- The member a body's copy of a complaint is assigned to, by login name;
-- empty while unassigned.
ALTER TABLE complaint_bodies ADD COLUMN assigned_to TEXT NOT NULL DEFAULT '';
