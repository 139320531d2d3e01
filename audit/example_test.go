package audit_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/facegate/facegate/audit"
)

func Example() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // in facegate: audit.LoadPrivateKey(path, env)
	pub := priv.Public().(ed25519.PublicKey)

	// Append: chain each entry to the head, in one transaction with the insert.
	var log []audit.Entry
	var head *audit.Entry
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, action := range []string{"key.create", "subject.create", "face.enrol", "search"} {
		e := audit.Entry{Time: t0.Add(time.Duration(i) * time.Second), Actor: "key_3f2a", Action: action,
			Target: "gallery/gal_x/subject/sub_y", Outcome: "ok"}
		audit.Chain(head, &e)
		log = append(log, e)
		head = &log[len(log)-1]
	}
	// Periodically: sign the head.
	cps := []audit.Checkpoint{audit.SignCheckpoint(priv, head, t0.Add(time.Minute))}

	r, err := audit.Verify(audit.FromSlice(log), cps, pub)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.OK, r.Entries)

	log[2].Outcome = "denied" // tampering
	r, _ = audit.Verify(audit.FromSlice(log), cps, pub)
	fmt.Println(r.Problems[0].Kind, r.Problems[0].Seq)
	fmt.Println(r.Problems[0].Message)
	// Output:
	// true 4
	// edited 3
	// entry 3: its hash does not match its content (edited after it was written)
}
