package flagenv

import (
	"flag"
	"testing"
)

func TestParse(t *testing.T) {
	t.Setenv("STICKERD_HTTP_ADDR", "0.0.0.0:1")
	t.Setenv("STICKERD_WORKERS", "3")
	t.Setenv("STICKERD_BROKERS", "a:1, b:2")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	addr := fs.String("http-addr", "127.0.0.1:8080", "")
	workers := fs.Int("workers", 1, "")
	var brokers List
	fs.Var(&brokers, "brokers", "")
	if err := Parse(fs, []string{"--workers", "5"}); err != nil {
		t.Fatal(err)
	}
	if *addr != "0.0.0.0:1" || *workers != 5 || len(brokers) != 2 || brokers[1] != "b:2" {
		t.Fatalf("addr %s workers %d brokers %v", *addr, *workers, brokers)
	}
	t.Setenv("STICKERD_WORKERS", "many")
	fs2 := flag.NewFlagSet("x", flag.ContinueOnError)
	fs2.Int("workers", 1, "")
	if err := Parse(fs2, nil); err == nil {
		t.Fatal("a bad environment value was accepted")
	}
}
