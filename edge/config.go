package edge

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config tunes an Edge. Start from DefaultConfig.
type Config struct {
	// MaxSessions bounds the sessions open on this edge; a POST beyond it
	// is answered 503 with Retry-After.
	MaxSessions int
	// MaxSessionsPerTenant bounds one tenant's sessions; beyond it: 429.
	MaxSessionsPerTenant int
	// RetryAfter is the Retry-After given with 429 and 503.
	RetryAfter time.Duration
	// IdleTimeout closes a session that has received no media for this
	// long (including one that never connects).
	IdleTimeout time.Duration
	// GatherTimeout bounds ICE candidate gathering before the answer.
	GatherTimeout time.Duration

	// ICEHostIPs restricts host candidates to these local addresses
	// (loopback included when listed). Empty: every non-loopback interface.
	ICEHostIPs []string
	// ICEPortMin and ICEPortMax bound the UDP ports used for media (both 0:
	// the kernel's ephemeral ports).
	ICEPortMin uint16
	ICEPortMax uint16
	// NAT1To1IPs are public addresses advertised instead of the host ones,
	// for an edge behind a 1:1 NAT.
	NAT1To1IPs []string
	// AllowCandidates and DenyCandidates (addresses or CIDR ranges) adjust
	// which addresses a client's ICE candidates, in its offer or trickled,
	// may name; the edge sends STUN checks to them. By default link-local,
	// cloud metadata (169.254.169.254, fd00:ec2::254), unspecified,
	// multicast, broadcast and reserved addresses are refused, and loopback
	// ones unless ICEHostIPs has a loopback address; private and public
	// addresses are accepted. AllowCandidates accepts ranges the defaults
	// refuse (a lab on link-local); DenyCandidates refuses more (the
	// operator's own networks, for an edge that serves only the
	// internet) and wins over AllowCandidates.
	AllowCandidates []string
	DenyCandidates  []string

	// MaxMessageBytes bounds one control data-channel message.
	MaxMessageBytes int
	// MaxStickers bounds the stickers of one session.
	MaxStickers int
	// MaxAssetBytes bounds an uploaded sticker file read through the asset
	// opener; MaxStickerSide is the longest side a sticker source is kept at
	// (larger ones are scaled down once when loaded).
	MaxAssetBytes  int64
	MaxStickerSide int
	// MaxFrameWidth and MaxFrameHeight bound the incoming video.
	MaxFrameWidth  int
	MaxFrameHeight int

	// Encoder bitrate bounds and start value, in kbit/s; congestion
	// control moves the target between Min and Max.
	MinBitrateKbps   int
	MaxBitrateKbps   int
	StartBitrateKbps int
	// EncoderCPUUsed is libvpx's realtime speed setting, 4 (better) to 16
	// (faster).
	EncoderCPUUsed int
	// FrameDeadline drops a decoded frame that waited longer than this for
	// the compositor, instead of sending stale video.
	FrameDeadline time.Duration
	// StatsInterval paces the stats messages on the control channel.
	StatsInterval time.Duration
}

// DefaultConfig returns the settings of `stickerd dev`: ICE on loopback
// only, 64 sessions, 16 per tenant, 16 KiB control messages.
func DefaultConfig() Config {
	return Config{
		MaxSessions:          64,
		MaxSessionsPerTenant: 16,
		RetryAfter:           5 * time.Second,
		IdleTimeout:          15 * time.Second,
		GatherTimeout:        5 * time.Second,
		ICEHostIPs:           []string{"127.0.0.1"},
		MaxMessageBytes:      16 << 10,
		MaxStickers:          32,
		MaxAssetBytes:        16 << 20,
		MaxStickerSide:       1024,
		MaxFrameWidth:        1920,
		MaxFrameHeight:       1920,
		MinBitrateKbps:       150,
		MaxBitrateKbps:       4000,
		StartBitrateKbps:     1500,
		EncoderCPUUsed:       10,
		FrameDeadline:        100 * time.Millisecond,
		StatsInterval:        time.Second,
	}
}

// Validate reports every setting that cannot work, joined.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("edge config: "+format, args...))
		}
	}
	check(c.MaxSessions > 0, "max_sessions must be positive")
	check(c.MaxSessionsPerTenant > 0, "max_sessions_per_tenant must be positive")
	check(c.RetryAfter >= time.Second, "retry_after must be at least 1s")
	check(c.IdleTimeout > 0, "idle_timeout must be positive")
	check(c.GatherTimeout > 0, "gather_timeout must be positive")
	for _, ip := range c.ICEHostIPs {
		check(net.ParseIP(ip) != nil, "ice_host_ips: %q is not an IP address", ip)
	}
	for _, ip := range c.NAT1To1IPs {
		check(net.ParseIP(ip) != nil, "nat_1to1_ips: %q is not an IP address", ip)
	}
	for name, ranges := range map[string][]string{"allow_candidates": c.AllowCandidates, "deny_candidates": c.DenyCandidates} {
		if _, err := parseRanges(name, ranges); err != nil {
			errs = append(errs, err)
		}
	}
	check((c.ICEPortMin == 0) == (c.ICEPortMax == 0) && c.ICEPortMin <= c.ICEPortMax,
		"ice_port_min and ice_port_max must both be 0 or form a range")
	check(c.MaxMessageBytes >= 1024 && c.MaxMessageBytes <= 256<<10, "max_message_bytes must be 1 KiB to 256 KiB")
	check(c.MaxStickers > 0, "max_stickers must be positive")
	check(c.MaxAssetBytes > 0, "max_asset_bytes must be positive")
	check(c.MaxStickerSide >= 16, "max_sticker_side must be at least 16")
	check(c.MaxFrameWidth >= 16 && c.MaxFrameHeight >= 16 && c.MaxFrameWidth <= 4096 && c.MaxFrameHeight <= 4096,
		"max_frame_width and max_frame_height must be 16 to 4096")
	check(c.MinBitrateKbps > 0 && c.MinBitrateKbps <= c.StartBitrateKbps && c.StartBitrateKbps <= c.MaxBitrateKbps,
		"bitrates must satisfy 0 < min <= start <= max")
	check(c.EncoderCPUUsed >= 4 && c.EncoderCPUUsed <= 16, "encoder_cpu_used must be 4 to 16")
	check(c.FrameDeadline > 0, "frame_deadline must be positive")
	check(c.StatsInterval >= 100*time.Millisecond, "stats_interval must be at least 100ms")
	return errors.Join(errs...)
}
