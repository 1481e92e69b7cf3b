-- The facts of a complaint event as fields, so that the console and the
-- kiosks say them in the reader's language: before, the service wrote them
-- into detail as English text ("until 2026-12-31: …", "to NPM: …",
-- "outcome upheld; evidence medical,footage", "read at T-1", "opened",
-- "no answer by 2026-12-31 19:00 UTC"). What is left of detail is the
-- member's own words, so the column is renamed reason.
--
--   term     YYYY-MM-DD: the extended term's end, or the missed term's
--   to_body  the body a complaint was redirected to
--   outcome  qorgau.Outcome of a closing
--   evidence the kinds of evidence considered, comma-separated
--   device   the terminal at which the complainant read the answer
ALTER TABLE complaint_events RENAME COLUMN detail TO reason;
ALTER TABLE complaint_events ADD COLUMN term TEXT NOT NULL DEFAULT '';
ALTER TABLE complaint_events ADD COLUMN to_body TEXT NOT NULL DEFAULT '';
ALTER TABLE complaint_events ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE complaint_events ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
ALTER TABLE complaint_events ADD COLUMN device TEXT NOT NULL DEFAULT '';

-- Existing rows, from the text the service wrote; a row that does not
-- match keeps its text as the reason.
UPDATE complaint_events SET term = substr(reason, 7, 10), reason = substr(reason, 19)
WHERE event = '' AND state = 'extended' AND reason GLOB 'until [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]: *';

UPDATE complaint_events SET to_body = substr(reason, 4, instr(reason, ': ') - 4), reason = substr(reason, instr(reason, ': ') + 2)
WHERE event = '' AND state = 'redirected' AND reason LIKE 'to %: %' AND instr(reason, ': ') > 4;

UPDATE complaint_events SET outcome = substr(reason, 9, instr(reason, '; evidence ') - 9),
	evidence = substr(reason, instr(reason, '; evidence ') + 11), reason = ''
WHERE event = '' AND state = 'closed' AND reason LIKE 'outcome %; evidence %' AND instr(reason, '; evidence ') > 9;

UPDATE complaint_events SET device = substr(reason, 9), reason = ''
WHERE event = '' AND state = 'answer-delivered' AND reason LIKE 'read at _%';

UPDATE complaint_events SET reason = ''
WHERE event = '' AND state = 'registered' AND reason = 'opened';

-- The store writes UTC, so SQLite's overdue text named a UTC time.
UPDATE complaint_events SET term = substr(reason, 14, 10), reason = ''
WHERE event = 'overdue' AND reason GLOB 'no answer by [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9] *';
