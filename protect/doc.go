// Package protect holds the two protections facegate can give the face templates it stores.
//
// Encryption at rest ([Keyring], [Keyring.Seal], [Keyring.Open]): AES-256-GCM under keys that live in a file or
// an environment variable, never beside the data. Every sealed blob names the key that sealed it, so a keyring
// may hold several keys: the first seals, all of them open, and rotating to a new key is "put the new key first,
// re-seal the rows still under an old one ([Keyring.Reseal]), then drop the old key", with no downtime. The
// caller passes associated data (a row's id) that binds a ciphertext to its row: a blob copied to another row
// fails to open.
//
// Unlinkable templates ([Transform]): a secret, per-deployment orthogonal rotation of the embedding space.
// Rotations preserve dot products, so matching inside a deployment is unchanged, while templates of the same
// person from two deployments with different secrets look like templates of unrelated people. Changing the
// secret revokes a leaked set. It is a defence against linking and reuse of leaked templates, not encryption:
// see docs/protection.md for what it does and does not protect against, and the LFW figures.
//
// Everything here uses the standard library only, and every exported value is safe for concurrent use.
package protect
