package wiring

import "github.com/stickerd/stickerd/internal/jobs"

func jobsID(s string) jobs.ID { return jobs.ID(s) }

func statusOf(j *jobs.Job) string {
	if j == nil {
		return "unknown"
	}
	return string(j.Status)
}
