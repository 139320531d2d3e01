package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// Checkpoint is a signed statement "the log up to Seq has head hash Hash", made periodically. Seq 0 with an
// empty Hash is the checkpoint of an empty log.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`      // when it was signed, UTC
	KeyID     string    `json:"key_id"`    // KeyID of the public key that verifies Signature
	Signature string    `json:"signature"` // standard base64 of the ed25519 signature of the canonical message
}

// message is what Signature signs: netstrings of the domain tag "fgaudit/checkpoint/v1", seq (decimal), hash,
// time (as for entries) and key id.
func (c *Checkpoint) message() []byte {
	b := make([]byte, 0, 160)
	b = netstring(b, checkpointTag)
	var num [40]byte
	b = netstringBytes(b, strconv.AppendInt(num[:0], c.Seq, 10))
	b = netstring(b, c.Hash)
	b = netstringBytes(b, appendTime(num[:0], c.Time))
	b = netstring(b, c.KeyID)
	return b
}

// SignCheckpoint signs "the log up to head.Seq has head hash head.Hash" at time at (kept in UTC). A nil head
// makes the checkpoint of an empty log (Seq 0, empty Hash).
func SignCheckpoint(priv ed25519.PrivateKey, head *Entry, at time.Time) Checkpoint {
	c := Checkpoint{Time: at.UTC(), KeyID: KeyID(priv.Public().(ed25519.PublicKey))}
	if head != nil {
		c.Seq, c.Hash = head.Seq, head.Hash
	}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, c.message()))
	return c
}

// Verify checks that c was signed by the private key of pub. It does not look at the log.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if why := c.check(pub); why != "" {
		return fmt.Errorf("audit: checkpoint for entry %d: %s", c.Seq, why)
	}
	return nil
}

// check returns why c does not verify with pub, or "".
func (c *Checkpoint) check(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Sprintf("the public key holds %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if id := KeyID(pub); c.KeyID != id {
		return fmt.Sprintf("signed by key %q, not by the audit key %s", c.KeyID, id)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Sprintf("the signature is not %d bytes of base64", ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, c.message(), sig) {
		return "the signature does not match its content (the checkpoint was altered or forged)"
	}
	return ""
}
