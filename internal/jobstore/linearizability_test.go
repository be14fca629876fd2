package jobstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stickerd/stickerd/internal/etcd/etcdtest"
	"github.com/stickerd/stickerd/internal/jobs"
)

// linState is what the model knows of a job: its status, its attempt count
// and a payload every write makes unique, so that two records are equal
// exactly when they are the same revision, and a compare-and-swap on the
// revision is one on the state.
type linState struct {
	Status   jobs.Status
	Attempts int
	Payload  string
}

func stateOf(j *jobs.Job) linState {
	return linState{Status: j.Status, Attempts: j.Attempts, Payload: j.Metadata["lin"]}
}

var initialState = linState{Status: jobs.Queued, Payload: "init"}

type linInput struct {
	Job          int
	Read         bool
	Expect, Next linState // cas only
}

type linOutput struct {
	State   linState // read only
	OK      bool     // cas only
	Unknown bool     // the request failed: it may or may not have taken effect
}

// jobModel is a register per job, read and compare-and-swapped. An
// operation whose outcome is unknown has its return time at infinity, so
// the checker may place it anywhere after its call, including after every
// other operation, where it changes nothing anyone saw.
var jobModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byJob := map[int][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(linInput).Job
			byJob[k] = append(byJob[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byJob {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return initialState },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(linState), input.(linInput), output.(linOutput)
		if in.Read {
			return out.Unknown || out.State == st, st
		}
		match := st == in.Expect
		next := st
		if match {
			next = in.Next
		}
		return out.Unknown || out.OK == match, next
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		if in.Read {
			return fmt.Sprintf("job%d read() → %v", in.Job, out.State)
		}
		res := map[bool]string{true: "ok", false: "fail"}[out.OK]
		if out.Unknown {
			res = "unknown"
		}
		return fmt.Sprintf("job%d cas(%v → %v) → %s", in.Job, in.Expect, in.Next, res)
	},
}

// linClient reads and transitions jobs through one member's endpoint.
type linClient struct {
	id     int
	member int
	store  *Store
	ids    []jobs.ID
	epoch  time.Time
	ops    []porcupine.Operation
	seq    int
}

func (c *linClient) now() int64 { return int64(time.Since(c.epoch)) }

// step reads a job and, most times, moves it along the state machine with
// a compare-and-swap on what it read. It reports whether the request
// failed.
func (c *linClient) step(ctx context.Context) bool {
	k := rand.IntN(len(c.ids))
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	call := c.now()
	j, err := c.store.Get(ctx, c.ids[k])
	if err != nil {
		return true // a failed read has no effect and constrains nothing
	}
	c.ops = append(c.ops, porcupine.Operation{ClientId: c.id, Input: linInput{Job: k, Read: true},
		Call: call, Output: linOutput{State: stateOf(j)}, Return: c.now()})
	if rand.IntN(4) == 0 {
		return false
	}
	next := j.Clone()
	if next.Status == jobs.Queued {
		err = next.Assign(fmt.Sprintf("c%d", c.id), j.Revision, time.Now())
	} else {
		err = next.Requeue(jobs.Error{Code: "WORKER_LOST"}, time.Now())
	}
	if err != nil {
		panic(err) // only queued and running records exist
	}
	c.seq++
	next.Metadata["lin"] = fmt.Sprintf("c%d-%d", c.id, c.seq)
	in := linInput{Job: k, Expect: stateOf(j), Next: stateOf(next)}
	call = c.now()
	_, err = c.store.CAS(ctx, next)
	op := porcupine.Operation{ClientId: c.id, Input: in, Call: call, Return: c.now()}
	switch {
	case err == nil:
		op.Output = linOutput{OK: true}
	case errors.Is(err, ErrConflict):
		op.Output = linOutput{OK: false}
	default:
		op.Output, op.Return = linOutput{Unknown: true}, math.MaxInt64
	}
	c.ops = append(c.ops, op)
	return err != nil && !errors.Is(err, ErrConflict)
}

func TestStore_LinearizableAcrossLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("3-member linearizability test")
	}
	c := etcdtest.StartCluster(t, 3)
	leader := c.WaitLeader(10 * time.Second)
	ctx := testCtx(t)
	setup := New(c.Client(), "/lin")
	ids := make([]jobs.ID, 3)
	for i := range ids {
		j := newJob("acme", time.Now())
		j.Metadata["lin"] = initialState.Payload
		ids[i] = mustCreate(t, setup, j).ID
	}

	epoch := time.Now()
	end := epoch.Add(3500 * time.Millisecond)
	clients := make([]*linClient, 6)
	var wg sync.WaitGroup
	for i := range clients {
		cl := &linClient{id: i, member: i % 3, store: New(c.Client(i%3), "/lin"), ids: ids, epoch: epoch}
		clients[i] = cl
		wg.Go(func() {
			for time.Now().Before(end) {
				if cl.step(ctx) && c.Member(cl.member) == nil {
					return // its member is gone; it would only add unknown operations
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(1200 * time.Millisecond)
	c.Kill(leader)
	wg.Wait()

	var history []porcupine.Operation
	unknown := 0
	for _, cl := range clients {
		history = append(history, cl.ops...)
		for _, op := range cl.ops {
			if op.Output.(linOutput).Unknown {
				unknown++
			}
		}
	}
	res, info := porcupine.CheckOperationsVerbose(jobModel, history, 30*time.Second)
	t.Logf("%d operations (%d with unknown outcome), leader m%d killed at 1.2s: %s", len(history), unknown, leader, res)
	if res != porcupine.Ok {
		path := fmt.Sprintf("%s/statestore-linearizability-%d.html", os.TempDir(), time.Now().UnixNano())
		if err := porcupine.VisualizePath(jobModel, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatalf("history is not linearizable: %s", res)
	}
}

// TestJobModel_Judges checks the model on hand-made histories, so that an
// Ok above means something.
func TestJobModel_Judges(t *testing.T) {
	a := linState{Status: jobs.Running, Attempts: 1, Payload: "c1-1"}
	read := func(call, ret int64, s linState) porcupine.Operation {
		return porcupine.Operation{Input: linInput{Read: true}, Call: call, Output: linOutput{State: s}, Return: ret}
	}
	cas := func(call, ret int64, out linOutput) porcupine.Operation {
		if out.Unknown {
			ret = math.MaxInt64
		}
		return porcupine.Operation{Input: linInput{Expect: initialState, Next: a}, Call: call, Output: out, Return: ret}
	}
	tests := []struct {
		name    string
		history []porcupine.Operation
		want    porcupine.CheckResult
	}{
		{"read after cas sees it", []porcupine.Operation{cas(0, 10, linOutput{OK: true}), read(20, 30, a)}, porcupine.Ok},
		{"stale read after cas", []porcupine.Operation{cas(0, 10, linOutput{OK: true}), read(20, 30, initialState)}, porcupine.Illegal},
		{"concurrent read may see either", []porcupine.Operation{cas(0, 10, linOutput{OK: true}), read(5, 30, initialState)}, porcupine.Ok},
		{"cas failing on its expected state", []porcupine.Operation{cas(0, 10, linOutput{OK: false})}, porcupine.Illegal},
		{"unknown cas that happened", []porcupine.Operation{cas(0, 0, linOutput{Unknown: true}), read(20, 30, a)}, porcupine.Ok},
		{"unknown cas that did not", []porcupine.Operation{cas(0, 0, linOutput{Unknown: true}), read(20, 30, initialState)}, porcupine.Ok},
		{"unknown cas cannot undo", []porcupine.Operation{cas(0, 0, linOutput{Unknown: true}), read(20, 30, a), read(40, 50, initialState)}, porcupine.Illegal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(jobModel, tt.history, 5*time.Second); got != tt.want {
				t.Fatalf("check = %s, want %s", got, tt.want)
			}
		})
	}
}
