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
WHERE event = '' AND state = 'extended' AND reason ~ '^until \d{4}-\d{2}-\d{2}: ';

UPDATE complaint_events SET to_body = substr(reason, 4, strpos(reason, ': ') - 4), reason = substr(reason, strpos(reason, ': ') + 2)
WHERE event = '' AND state = 'redirected' AND reason ~ '^to [^:]+: ';

UPDATE complaint_events SET outcome = substr(reason, 9, strpos(reason, '; evidence ') - 9),
	evidence = substr(reason, strpos(reason, '; evidence ') + 11), reason = ''
WHERE event = '' AND state = 'closed' AND reason ~ '^outcome [^;]+; evidence ';

UPDATE complaint_events SET device = substr(reason, 9), reason = ''
WHERE event = '' AND state = 'answer-delivered' AND reason ~ '^read at .';

UPDATE complaint_events SET reason = ''
WHERE event = '' AND state = 'registered' AND reason = 'opened';

-- The overdue text named the term in the server process's zone, as an
-- offset ("+05") or "UTC": the day is taken in UTC, as the store keeps
-- terms. Another zone name is taken as written.
UPDATE complaint_events SET term = to_char(substr(reason, 14)::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD'), reason = ''
WHERE event = 'overdue' AND reason ~ '^no answer by \d{4}-\d{2}-\d{2} \d{2}:\d{2} (UTC|[+-]\d{2}(\d{2})?)$';
UPDATE complaint_events SET term = substr(reason, 14, 10), reason = ''
WHERE event = 'overdue' AND reason ~ '^no answer by \d{4}-\d{2}-\d{2} \d{2}:\d{2} ';
