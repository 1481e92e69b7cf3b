package complaints

import (
	"context"
	"fmt"

	"qorgau.kz/qorgau"
)

// NotifyDeadlines raises, through s.Notifier, a due_soon notice for every
// open copy whose term ends within Rules.DueSoonDays working days of the
// calendar (the inbox's "due soon"), and an overdue notice for every open
// copy SweepDeadlines found overdue: each once per complaint and body. It
// returns how many it raised; without a Notifier it does nothing.
func (s *Service) NotifyDeadlines(ctx context.Context) (int, error) {
	if s.Notifier == nil {
		return 0, nil
	}
	now := s.now()
	// The inbox calls a copy due soon when at most DueSoonDays working days
	// are left after today: its term ends before the next working day
	// after those begins.
	until := s.Calendar.AddWorkingDays(now, s.Rules.DueSoonDays+1).AddDate(0, 0, -1)
	soon, err := s.DB.DueSoonCopies(ctx, now, until, 1000)
	if err != nil {
		return 0, err
	}
	raised := 0
	for _, c := range soon {
		if err := s.Notifier.Notify(ctx, &qorgau.Notice{
			Kind: qorgau.NoticeDueSoon, Bodies: []string{c.Body}, Region: c.Region, Facility: c.Facility, Complaint: c.Complaint,
			Key:  fmt.Sprintf("%s/%d/%s", qorgau.NoticeDueSoon, c.Complaint, c.Body),
			Text: fmt.Sprintf("Complaint %d to %s: the answer is due by %s.", c.Complaint, c.Body, c.Due.Format("2006-01-02 15:04 MST")),
		}); err != nil {
			return raised, err
		}
		raised++
	}
	late, err := s.DB.OverdueCopies(ctx, 1000)
	if err != nil {
		return raised, err
	}
	for _, c := range late {
		if err := s.Notifier.Notify(ctx, &qorgau.Notice{
			Kind: qorgau.NoticeOverdue, Bodies: []string{c.Body}, Region: c.Region, Facility: c.Facility, Complaint: c.Complaint,
			Key: fmt.Sprintf("%s/%d/%s", qorgau.NoticeOverdue, c.Complaint, c.Body),
			Text: fmt.Sprintf("Complaint %d to %s: the answer was due by %s and is late; in law, a refusal the complainant may appeal.",
				c.Complaint, c.Body, c.Due.Format("2006-01-02 15:04 MST")),
		}); err != nil {
			return raised, err
		}
		raised++
	}
	return raised, nil
}
