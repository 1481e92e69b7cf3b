package complaints

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"qorgau.kz/qorgau"
)

// Submission is what the log's complaint leaf commits to: the routing data
// the terminal sent in the clear, and the sealed envelope. It is the log
// object; the leaf itself carries only its commitment and the region.
//
// Its encoding is a header of "key value" lines, a "---" line, and the
// envelope's bytes to the end:
//
//	qorgau-submission/v1
//	device T-EC-166-18-01
//	facility EC-166-18
//	region KZ-35
//	bodies NPM,OMBUDSMAN,PROS-KZ-35
//	category torture
//	urgent 1
//	test 0
//	lookup 0f3a…
//	---
//	qorgau-envelope/v1 …
type Submission struct {
	Device   string
	Facility string
	Region   string
	Bodies   []string // sorted
	Category qorgau.Category
	Urgent   bool
	Test     bool
	LookupID string
	Envelope []byte
}

const submissionMagic = "qorgau-submission/v1"

// Marshal encodes s.
func (s *Submission) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\ndevice %s\nfacility %s\nregion %s\nbodies %s\ncategory %s\nurgent %s\ntest %s\nlookup %s\n---\n",
		submissionMagic, s.Device, s.Facility, s.Region, strings.Join(s.Bodies, ","), s.Category,
		bit(s.Urgent), bit(s.Test), s.LookupID)
	b.Write(s.Envelope)
	return b.Bytes()
}

func bit(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// ParseSubmission decodes a submission that Marshal encoded.
func ParseSubmission(b []byte) (*Submission, error) {
	head, env, ok := bytes.Cut(b, []byte("\n---\n"))
	if !ok {
		return nil, fmt.Errorf("submission: no --- line")
	}
	lines := strings.Split(string(head), "\n")
	want := []string{"device", "facility", "region", "bodies", "category", "urgent", "test", "lookup"}
	if len(lines) != len(want)+1 || lines[0] != submissionMagic {
		return nil, fmt.Errorf("submission: bad header")
	}
	v := map[string]string{}
	for i, key := range want {
		k, val, ok := strings.Cut(lines[i+1], " ")
		if !ok && lines[i+1] == key {
			k, val, ok = key, "", true
		}
		if !ok || k != key {
			return nil, fmt.Errorf("submission: line %d: want %s", i+2, key)
		}
		v[key] = val
	}
	s := &Submission{
		Device: v["device"], Facility: v["facility"], Region: v["region"],
		Category: qorgau.Category(v["category"]), Urgent: v["urgent"] == "1", Test: v["test"] == "1",
		LookupID: v["lookup"], Envelope: env,
	}
	if v["bodies"] != "" {
		s.Bodies = strings.Split(v["bodies"], ",")
	}
	if !slices.IsSorted(s.Bodies) {
		return nil, fmt.Errorf("submission: bodies not sorted")
	}
	return s, nil
}
