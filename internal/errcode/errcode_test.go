package errcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, ""},
		{"typed", New(SpecInvalid, "bad"), SpecInvalid},
		{"wrapped typed", fmt.Errorf("ctx: %w", New(FFmpegFailed, "x")), FFmpegFailed},
		{"canceled", fmt.Errorf("run: %w", context.Canceled), Canceled},
		{"untyped", errors.New("boom"), Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestError_IsMatchesCode(t *testing.T) {
	err := fmt.Errorf("wrap: %w", Wrap(AssetTooLarge, errors.New("cause"), "too big"))
	if !errors.Is(err, New(AssetTooLarge, "")) {
		t.Fatal("errors.Is by code failed")
	}
	if errors.Is(err, New(AssetUnsupported, "")) {
		t.Fatal("errors.Is matched another code")
	}
}

func TestAll_Valid(t *testing.T) {
	if len(All()) != 23 {
		t.Fatalf("taxonomy has %d codes, docs/api.md lists 23", len(All()))
	}
	for _, c := range All() {
		if !c.Valid() {
			t.Fatalf("%s not valid", c)
		}
	}
	if Code("NOPE").Valid() {
		t.Fatal("unknown code valid")
	}
}

func TestError_StringSaysEachFieldOnce(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: SourceUnreadable, Message: "source: the file is empty",
			Fields: []FieldError{{Field: "source", Message: "the file is empty"}}},
			"SOURCE_UNREADABLE: source: the file is empty"},
		{&Error{Code: SpecInvalid, Message: "the render request is invalid",
			Fields: []FieldError{{Field: "a", Message: "x"}, {Field: "b", Message: "y"}}},
			"SPEC_INVALID: the render request is invalid: a: x; b: y"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestPermanent(t *testing.T) {
	cause := fmt.Errorf("host not found: %w", ErrPermanent)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"marked", cause, true},
		{"wrapped in a typed error", Wrap(AssetFetchFailed, cause, "source: host not found"), true},
		{"joined", errors.Join(errors.New("x"), ErrPermanent), true},
		{"typed without a marked cause", New(AssetFetchFailed, "source: 503"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Permanent(tt.err); got != tt.want {
				t.Fatalf("Permanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
