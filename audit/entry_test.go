package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func goldenEntry() Entry {
	return Entry{Seq: 42, Time: time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC), Actor: "key_3f2a", Action: "face.enrol",
		Target: "gallery/gal_x/subject/sub_y", Outcome: "ok", Details: map[string]string{"request_id": "req_1", "faces": "1"},
		Prev: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
}

// The canonical encoding and hash are pinned: changing them breaks every stored log. The same vector is in the
// package documentation (check with: printf '%s' '<canonical>' | sha256sum).
func TestCanonicalGolden(t *testing.T) {
	e := goldenEntry()
	const canon = "16:fgaudit/entry/v1,2:42,20:1740830400.000000005,8:key_3f2a,10:face.enrol,27:gallery/gal_x/subject/sub_y,2:ok,1:2,5:faces,1:1,10:request_id,5:req_1,64:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,"
	if got := string(e.canonical()); got != canon {
		t.Fatalf("canonical:\n got %s\nwant %s", got, canon)
	}
	if got := e.ComputeHash(); got != "53dd64f3eee0b2a6629baf0981f3780ac28db0585fb67569f414f41e828da6a1" {
		t.Fatalf("hash %s", got)
	}
	e.Hash = "ignored"
	if e.ComputeHash() != "53dd64f3eee0b2a6629baf0981f3780ac28db0585fb67569f414f41e828da6a1" {
		t.Fatal("Hash field is hashed")
	}
}

func TestCanonicalTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), "0.000000000"},
		{time.Unix(1, 999999999), "1.999999999"},
		{time.Unix(-1, 500000000), "-1.500000000"}, // half a second before 1970
		{time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC), "32503680000.000000001"},
		{time.Time{}, "-62135596800.000000000"},
	} {
		if got := canonicalTime(tc.t); got != tc.want {
			t.Errorf("canonicalTime(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}

func TestHashDetailsOrder(t *testing.T) {
	a := goldenEntry()
	b := goldenEntry()
	b.Details = map[string]string{}
	b.Details["faces"] = "1"
	b.Details["request_id"] = "req_1"
	for range 50 { // map iteration order is random: the hash must not depend on it
		if a.ComputeHash() != b.ComputeHash() {
			t.Fatal("details order changes the hash")
		}
	}
	big := goldenEntry()
	big.Details = map[string]string{}
	for _, k := range strings.Fields("z y x w v u t s r q p o n m l k j i h g f e d c b a") {
		big.Details[k] = k + k
	}
	h := big.ComputeHash()
	for range 50 {
		if big.ComputeHash() != h {
			t.Fatal("hash not deterministic")
		}
	}
	// nil and empty details are the same (JSON omits both).
	a.Details, b.Details = nil, map[string]string{}
	if a.ComputeHash() != b.ComputeHash() {
		t.Fatal("nil and empty details differ")
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := goldenEntry()
	h := base.ComputeHash()
	for name, mut := range map[string]func(e *Entry){
		"seq":           func(e *Entry) { e.Seq++ },
		"time ns":       func(e *Entry) { e.Time = e.Time.Add(time.Nanosecond) },
		"time s":        func(e *Entry) { e.Time = e.Time.Add(time.Second) },
		"actor":         func(e *Entry) { e.Actor += "x" },
		"action":        func(e *Entry) { e.Action = "face.delete" },
		"target":        func(e *Entry) { e.Target = "" },
		"outcome":       func(e *Entry) { e.Outcome = "denied" },
		"detail value":  func(e *Entry) { e.Details = map[string]string{"request_id": "req_2", "faces": "1"} },
		"detail key":    func(e *Entry) { e.Details = map[string]string{"request_ic": "req_1", "faces": "1"} },
		"detail added":  func(e *Entry) { e.Details = map[string]string{"request_id": "req_1", "faces": "1", "": ""} },
		"detail gone":   func(e *Entry) { e.Details = map[string]string{"request_id": "req_1"} },
		"prev":          func(e *Entry) { e.Prev = "" },
		"empty details": func(e *Entry) { e.Details = nil },
	} {
		e := goldenEntry()
		mut(&e)
		if e.ComputeHash() == h {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	// Field boundaries are unambiguous: moving bytes between neighbouring fields changes the hash.
	pairs := [][2]Entry{
		{{Actor: "ab", Action: "c"}, {Actor: "a", Action: "bc"}},
		{{Target: "x", Outcome: ""}, {Target: "", Outcome: "x"}},
		{{Details: map[string]string{"a": "b"}}, {Details: map[string]string{"ab": ""}}},
		{{Details: map[string]string{"a": "1,1:b"}}, {Details: map[string]string{"a": "1", "b": ""}}},
		{{Outcome: "ok", Details: map[string]string{}}, {Outcome: "ok,1:0", Details: nil}},
	}
	for i, p := range pairs {
		if p[0].ComputeHash() == p[1].ComputeHash() {
			t.Errorf("pair %d collides", i)
		}
	}
}

func TestHashTimeLocation(t *testing.T) {
	e := goldenEntry()
	h := e.ComputeHash()
	e.Time = e.Time.In(time.FixedZone("X", -7*3600))
	if e.ComputeHash() != h {
		t.Fatal("the time zone changes the hash")
	}
	e.Time = time.Unix(0, goldenEntry().Time.UnixNano()) // as stored in SQLite, read back local
	if e.ComputeHash() != h {
		t.Fatal("int64 nanoseconds round trip changes the hash")
	}
}

func TestChain(t *testing.T) {
	now := time.Now() // local, with a monotonic reading
	first := Entry{Time: now, Actor: "cli", Action: "key.create", Outcome: "ok"}
	Chain(nil, &first)
	if first.Seq != 1 || first.Prev != Genesis || first.Time.Location() != time.UTC || !first.Time.Equal(now) || first.Hash != first.ComputeHash() {
		t.Fatalf("first: %+v", first)
	}
	if first.Time.String() != first.Time.Round(0).String() {
		t.Fatal("monotonic clock reading kept")
	}
	second := Entry{Time: now, Actor: "key_\xff", Action: "search", Outcome: "no_match", Details: map[string]string{"k\xfe": "v\xfd"}}
	orig := second.Details
	Chain(&first, &second)
	if second.Seq != 2 || second.Prev != first.Hash || second.Hash != second.ComputeHash() {
		t.Fatalf("second: %+v", second)
	}
	if second.Actor != "key_\uFFFD" || second.Details["k\uFFFD"] != "v\uFFFD" || orig["k\xfe"] != "v\xfd" {
		t.Fatalf("invalid UTF-8 handling: %+v (caller's map %v)", second, orig)
	}
	// So a JSON round trip keeps the hash.
	b, err := json.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ComputeHash() != second.Hash {
		t.Fatalf("JSON round trip changed the hash: %s", b)
	}
}

func TestJSONRoundTripKeepsHashes(t *testing.T) {
	for _, e := range genLog(20) {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back Entry
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.ComputeHash() != e.Hash || back.Hash != e.Hash || !back.Time.Equal(e.Time) {
			t.Fatalf("round trip of %s changed the entry", b)
		}
	}
	// The wire names are part of the contract.
	b, _ := json.Marshal(goldenEntry())
	for _, k := range []string{`"seq":`, `"time":"2025-03-01T12:00:00.000000005Z"`, `"actor":`, `"action":`, `"target":`, `"outcome":`, `"details":`, `"prev":`, `"hash":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}
