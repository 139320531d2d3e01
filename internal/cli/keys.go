package cli

import (
	"errors"
	"fmt"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/server"

	"github.com/facegate/facegate/envconfig"
	"github.com/facegate/facegate/protect"
)

const keysUsage = `Usage: facegate keys secret|generate|rotate|admin|revoke

  facegate keys secret
      prints a new secret for the unlinkable template transform ('facegate serve --template-secret FILE').
      Templates made under one secret do not match templates made under another: changing it revokes a
      leaked set, and means re-enrolling.
  facegate keys generate --id ID
      prints a new AES-256 template key line ("ID:base64key") to put first in the template key file.
  facegate keys rotate [--data DIR] [--template-key FILE]
      re-encrypts every stored template under the key file's first (active) key, in small transactions, while
      the server keeps running. A store never sealed is sealed first (as 'facegate serve' does on its first
      start with a key): its plaintext values are encrypted; after that a value in clear is refused.
      Rotation without downtime: put the new key first in the file (keep the old one), send the server SIGHUP,
      run 'facegate keys rotate', then remove the old key and send SIGHUP again.
  facegate keys admin [--data DIR] [--name NAME]
      on the host, with access to the data directory: creates a new admin API key directly in the store and
      prints its secret once (stored only as a hash; audited as actor "host"). The recovery path when every
      admin key is lost; works while the server runs.
  facegate keys revoke ID [--data DIR]
      on the host: revokes API key ID in the store (audited as actor "host"). The last admin key in force is
      never revoked: create another one first.
`

func runKeys(env *Env, args []string) error {
	if len(args) > 0 && args[0] == "secret" {
		secret, err := protect.GenerateSecret()
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, secret)
		return nil
	}
	if len(args) > 0 && (args[0] == "admin" || args[0] == "revoke") {
		return runHostKeys(env, args[0], args[1:])
	}
	if len(args) == 0 || (args[0] != "generate" && args[0] != "rotate") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(env.Stderr, keysUsage)
			return nil
		}
		return usagef("want 'keys generate', 'keys rotate', 'keys secret', 'keys admin' or 'keys revoke'")
	}
	if args[0] == "generate" {
		fs := newFlags(env, "keys generate", "keys generate --id ID")
		id := fs.String("id", "", "key id, e.g. the date: 2026-11")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		line, err := protect.GenerateKey(*id)
		if err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintln(env.Stdout, line)
		return nil
	}
	fs := newFlags(env, "keys rotate", "keys rotate [--data DIR] [--template-key FILE]")
	data := fs.String("data", envconfig.Data(), "data directory of the store ($FACEGATE_DATA)")
	keyFile := fs.String("template-key", envconfig.TemplateKeyFile(), "template key file; first line is the key to rotate to ($FACEGATE_TEMPLATE_KEY_FILE, or the keys in $FACEGATE_TEMPLATE_KEYS)")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	db, err := openStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := loadTemplateKeys(db, *keyFile, *data); err != nil {
		return err
	}
	n, err := db.RotateTemplates(env.Ctx, 500, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d templates re-encrypted\n", n)
	return nil
}

// runHostKeys is 'keys admin' and 'keys revoke': API keys managed on the host, straight in the store.
func runHostKeys(env *Env, cmd string, args []string) error {
	usage := "keys admin [--data DIR] [--name NAME]"
	if cmd == "revoke" {
		usage = "keys revoke ID [--data DIR]"
	}
	fs := newFlags(env, "keys "+cmd, usage)
	data := fs.String("data", envconfig.Data(), "data directory of the store ($FACEGATE_DATA)")
	name := new(string)
	if cmd == "admin" {
		name = fs.String("name", "host admin", "name of the new key")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if (cmd == "revoke") != (len(pos) == 1) || len(pos) > 1 {
		return usagef("usage: facegate %s", usage)
	}
	db, err := openStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	if cmd == "revoke" {
		if err := server.RevokeHostKey(env.Ctx, db, pos[0]); err != nil {
			return userErr(err)
		}
		fmt.Fprintf(env.Stdout, "key %s revoked\n", pos[0])
		return nil
	}
	k, secret, err := server.CreateHostAdminKey(env.Ctx, db, *name)
	if err != nil {
		return userErr(err)
	}
	fmt.Fprintf(env.Stdout, "created admin API key %s (shown once, stored only as a hash):\n  %s\n", k.ID, secret)
	return nil
}

// userErr is err's sentence for a person when it has one (facegate.UserError), else err.
func userErr(err error) error {
	if msg, ok := facegate.UserMessage(err); ok {
		return errors.New(msg)
	}
	return err
}
