package scheduler

import (
	"errors"
	"time"

	"github.com/stickerd/stickerd/internal/backoff"
)

// Config tunes the scheduler. Start from DefaultConfig.
type Config struct {
	// ID names this replica (in logs and the election).
	ID string
	// Advertise is the gRPC address workers dial to reach this replica.
	Advertise string
	// HeartbeatInterval is how often workers beat.
	HeartbeatInterval time.Duration
	// HeartbeatTTL is how long without a beat before a worker is lost;
	// HeartbeatGrace and up to HeartbeatJitter are added, so a whole fleet
	// is not declared lost in the same instant after a pause.
	HeartbeatTTL    time.Duration
	HeartbeatGrace  time.Duration
	HeartbeatJitter time.Duration
	// MaxAttempts bounds the attempts of one job; past it the job fails
	// with ATTEMPTS_EXHAUSTED and goes to the dead-letter topic.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the retry delay of a job:
	// base·2^(attempt-1), capped (internal/backoff, without jitter).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// TargetUtilization is the CPU/GPU load above which a worker that is
	// already busy gets no more work.
	TargetUtilization float64
	// SweepInterval is how often the leader looks for accepted jobs that
	// never arrived through Kafka; SweepAge is how old such a job must be.
	SweepInterval time.Duration
	SweepAge      time.Duration
	// ElectionTTL is the leader's etcd session TTL: a standby takes over
	// about this long after the leader dies.
	ElectionTTL time.Duration
	// ElectionPrefix is the etcd key prefix of the election.
	ElectionPrefix string
	// AssignConcurrency bounds the store writes of assignments in flight.
	AssignConcurrency int
	// ProgressWriteInterval throttles progress writes to the store per job.
	ProgressWriteInterval time.Duration
	// OutputTTL, AssetTTL and JobTTL are the retention the leader enforces
	// (expiry.go): a finished job's output this long after it finished, an
	// upload this long after it was made (unless a queued or running job
	// uses it), a finished job's record this long after it finished. 0
	// keeps forever. ExpiryInterval is how often the leader sweeps.
	OutputTTL, AssetTTL, JobTTL time.Duration
	ExpiryInterval              time.Duration
	// SplitMinSeconds is the encoding work (seconds of video) above which
	// a job's parts go to many workers at once (burst rendering); 0 never
	// splits. Workers are told it with each job, and how many of them
	// could take a part now.
	SplitMinSeconds float64
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		ID:                    "scheduler",
		HeartbeatInterval:     time.Second,
		HeartbeatTTL:          5 * time.Second,
		HeartbeatGrace:        time.Second,
		HeartbeatJitter:       500 * time.Millisecond,
		MaxAttempts:           3,
		BackoffBase:           time.Second,
		BackoffMax:            30 * time.Second,
		TargetUtilization:     0.7,
		SweepInterval:         2 * time.Second,
		SweepAge:              3 * time.Second,
		ElectionTTL:           3 * time.Second,
		ElectionPrefix:        "/stickerd/scheduler/leader",
		AssignConcurrency:     32,
		ProgressWriteInterval: time.Second,
		OutputTTL:             168 * time.Hour,
		AssetTTL:              720 * time.Hour,
		JobTTL:                720 * time.Hour,
		ExpiryInterval:        time.Minute,
		SplitMinSeconds:       20,
	}
}

// Validate reports settings the scheduler cannot run with.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("scheduler: ID is required"))
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatTTL < c.HeartbeatInterval {
		errs = append(errs, errors.New("scheduler: HeartbeatTTL must be at least HeartbeatInterval, both positive"))
	}
	if c.HeartbeatGrace < 0 || c.HeartbeatJitter < 0 {
		errs = append(errs, errors.New("scheduler: HeartbeatGrace and HeartbeatJitter cannot be negative"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("scheduler: MaxAttempts must be at least 1"))
	}
	if c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase {
		errs = append(errs, errors.New("scheduler: need 0 < BackoffBase <= BackoffMax"))
	}
	if c.TargetUtilization <= 0 || c.TargetUtilization > 1 {
		errs = append(errs, errors.New("scheduler: TargetUtilization must be in (0,1]"))
	}
	if c.SweepInterval <= 0 || c.SweepAge <= 0 {
		errs = append(errs, errors.New("scheduler: SweepInterval and SweepAge must be positive"))
	}
	if c.ElectionTTL < time.Second {
		errs = append(errs, errors.New("scheduler: ElectionTTL must be at least 1s"))
	}
	if c.OutputTTL < 0 || c.AssetTTL < 0 || c.JobTTL < 0 {
		errs = append(errs, errors.New("scheduler: OutputTTL, AssetTTL and JobTTL cannot be negative (0 keeps forever)"))
	}
	if c.ExpiryInterval <= 0 {
		errs = append(errs, errors.New("scheduler: ExpiryInterval must be positive"))
	}
	if c.SplitMinSeconds < 0 {
		errs = append(errs, errors.New("scheduler: SplitMinSeconds cannot be negative (0 never splits)"))
	}
	if c.AssignConcurrency < 1 {
		errs = append(errs, errors.New("scheduler: AssignConcurrency must be at least 1"))
	}
	return errors.Join(errs...)
}

// retry is the backoff of a job's attempts: Delay(attempts) is the wait
// before attempt number attempts+1.
func (c *Config) retry() backoff.Policy {
	return backoff.Policy{Initial: c.BackoffBase, Max: c.BackoffMax, Multiplier: 2}
}
