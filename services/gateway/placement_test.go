package gateway

import "testing"

func TestLeastLoaded(t *testing.T) {
	tests := []struct {
		name  string
		edges []LiveEdge
		want  string
	}{
		{"fewest sessions in use", []LiveEdge{{ID: "a", Sessions: 8, MaxSessions: 10}, {ID: "b", Sessions: 2, MaxSessions: 10}}, "b"},
		{"full edges skipped", []LiveEdge{{ID: "full", Sessions: 4, MaxSessions: 4}, {ID: "busy", Sessions: 9, MaxSessions: 10}}, "busy"},
		{"cpu breaks ties", []LiveEdge{{ID: "hot", Sessions: 1, MaxSessions: 2, CPU: 90}, {ID: "cool", Sessions: 1, MaxSessions: 2, CPU: 10}}, "cool"},
		{"all full", []LiveEdge{{ID: "full", Sessions: 4, MaxSessions: 4}}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := LeastLoaded(tt.edges)
			if tt.want == "" {
				if ok {
					t.Fatalf("chose %+v, want none", e)
				}
				return
			}
			if !ok || e.ID != tt.want {
				t.Fatalf("chose %+v (%v), want %s", e, ok, tt.want)
			}
		})
	}
}
