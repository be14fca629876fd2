package sharedstate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisProgress is the Progress over Redis: one pub/sub channel per job,
// prefix+"progress:<job>", and the latest value in the key
// prefix+"progress-latest:<job>" with a short TTL for late subscribers.
type RedisProgress struct {
	redisBase
	channel string
	latest  string
	ttl     time.Duration
}

// NewRedisProgress keeps each job's latest value for cfg.ProgressTTL after
// its last Publish.
func NewRedisProgress(client redis.UniversalClient, cfg Config) *RedisProgress {
	cfg = cfg.withDefaults()
	return &RedisProgress{
		redisBase: newRedisBase(client, cfg, ""),
		channel:   cfg.Prefix + "progress:",
		latest:    cfg.Prefix + "progress-latest:",
		ttl:       cfg.ProgressTTL,
	}
}

// Publish stores progress as jobID's latest value and publishes it, in one
// MULTI so a subscriber never reads a latest value older than a message.
func (p *RedisProgress) Publish(ctx context.Context, jobID string, progress float64) error {
	if err := checkProgress(progress); err != nil {
		return err
	}
	v := strconv.FormatFloat(progress, 'g', -1, 64)
	opCtx, cancel := p.op(ctx)
	defer cancel()
	_, err := p.client.TxPipelined(opCtx, func(pipe redis.Pipeliner) error {
		pipe.Set(opCtx, p.latest+jobID, v, p.ttl)
		pipe.Publish(opCtx, p.channel+jobID, v)
		return nil
	})
	if err != nil {
		return storeError(ctx, "progress publish", err)
	}
	return nil
}

// Subscribe streams jobID's progress until ctx ends. It returns once Redis
// has confirmed the subscription, so no value published after Subscribe
// returns is missed. If Redis goes away while the subscription is open,
// the channel stays open and go-redis resubscribes when Redis is back.
func (p *RedisProgress) Subscribe(ctx context.Context, jobID string) (<-chan float64, error) {
	// The deadline bounds setting up; the subscription lives as long as ctx.
	opCtx, cancel := p.op(ctx)
	defer cancel()
	ps := p.client.Subscribe(opCtx)
	fail := func(err error) (<-chan float64, error) {
		ps.Close()
		return nil, storeError(ctx, "progress subscribe", err)
	}
	if err := ps.Subscribe(opCtx, p.channel+jobID); err != nil {
		return fail(err)
	}
	// The confirmation is the first reply on the connection; waiting for
	// it is what makes the latest value read below no older than any
	// message to come.
	msg, err := ps.ReceiveTimeout(opCtx, p.opTimeout)
	if err != nil {
		return fail(err)
	}
	if _, ok := msg.(*redis.Subscription); !ok {
		return fail(fmt.Errorf("unexpected reply %T to SUBSCRIBE", msg))
	}
	s, err := p.client.Get(opCtx, p.latest+jobID).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fail(err)
	}
	first, haveFirst := 0.0, false
	if err == nil {
		first, err = strconv.ParseFloat(s, 64)
		haveFirst = err == nil
	}

	out := make(chan float64, 1)
	if haveFirst {
		out <- first
	}
	// Our loop never blocks, so go-redis's buffer never fills up.
	msgs := ps.Channel(redis.WithChannelSize(16))
	go func() {
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				if v, err := strconv.ParseFloat(m.Payload, 64); err == nil {
					offer(out, v)
				}
			}
		}
	}()
	return out, nil
}
