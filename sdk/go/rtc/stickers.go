package rtc

import (
	"context"
	"encoding/json"
	"fmt"
)

// Sticker is a realtime sticker: the fields of a spec sticker (shared/
// docs/api.md) without start and end. A map[string]any works as well.
type Sticker struct {
	Type string `json:"type"` // "image" or "text"
	// image: exactly one of Builtin or AssetID.
	Builtin string `json:"builtin,omitempty"`
	AssetID string `json:"asset_id,omitempty"`
	Loop    *bool  `json:"loop,omitempty"`
	// text
	Text        string   `json:"text,omitempty"`
	Font        string   `json:"font,omitempty"`
	Size        *float64 `json:"size,omitempty"`
	Color       string   `json:"color,omitempty"`
	StrokeColor string   `json:"stroke_color,omitempty"`
	StrokeWidth *float64 `json:"stroke_width,omitempty"`
	Background  string   `json:"background,omitempty"`
	// placement: centre (x, y) and width as fractions of the frame,
	// rotation in degrees clockwise, opacity 0..1.
	X         *float64   `json:"x,omitempty"`
	Y         *float64   `json:"y,omitempty"`
	Width     *float64   `json:"width,omitempty"`
	Rotation  *float64   `json:"rotation,omitempty"`
	Opacity   *float64   `json:"opacity,omitempty"`
	Keyframes []Keyframe `json:"keyframes,omitempty"`
	Animation string     `json:"animation,omitempty"`
}

// Keyframe sets properties T seconds after the sticker was added.
type Keyframe struct {
	T        float64  `json:"t"`
	X        *float64 `json:"x,omitempty"`
	Y        *float64 `json:"y,omitempty"`
	Width    *float64 `json:"width,omitempty"`
	Rotation *float64 `json:"rotation,omitempty"`
	Opacity  *float64 `json:"opacity,omitempty"`
	Easing   string   `json:"easing,omitempty"`
}

// F returns a pointer to v, for Sticker's optional numbers.
func F(v float64) *float64 { return &v }

// AddSticker adds sticker (a Sticker, or a map[string]any) as id, or
// replaces the sticker with that id, and waits for the edge's ack.
func (s *Session) AddSticker(ctx context.Context, id string, sticker any) error {
	return s.op(ctx, map[string]any{"op": "add", "id": id, "sticker": sticker})
}

// UpdateSticker changes some of x, y, width, rotation, opacity (and for
// text stickers text, color, size, stroke_color, stroke_width, background).
func (s *Session) UpdateSticker(ctx context.Context, id string, fields map[string]any) error {
	m := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		m[k] = v
	}
	m["op"], m["id"] = "update", id
	return s.op(ctx, m)
}

// RemoveSticker removes the sticker id.
func (s *Session) RemoveSticker(ctx context.Context, id string) error {
	return s.op(ctx, map[string]any{"op": "remove", "id": id})
}

// Clear removes every sticker.
func (s *Session) Clear(ctx context.Context) error {
	return s.op(ctx, map[string]any{"op": "clear"})
}

// SendControl sends one raw control message and returns the edge's reply
// (an ack or an error reply; err is for transport failures).
func (s *Session) SendControl(ctx context.Context, msg []byte) (Reply, error) {
	if s.ctx.Err() != nil {
		return Reply{}, ErrClosed
	}
	return s.ctrl.request(ctx, msg)
}

func (s *Session) op(ctx context.Context, v map[string]any) error {
	msg, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rtc: %w", err)
	}
	r, err := s.SendControl(ctx, msg)
	if err != nil {
		return err
	}
	if r.Op == "error" {
		return &ControlError{ID: r.ID, Code: r.Code, Message: r.Message, Field: r.Field}
	}
	return nil
}
