// Package envconfig is the one table of the FACEGATE_* environment variables: each with its default and what it
// does, and an accessor per variable that facegate itself reads. docs/configuration.md is generated from Vars
// (go test ./envconfig -update) and a test keeps the two, and every FACEGATE_ name in the source tree, in step.
//
// A variable set to the empty string counts as unset. Command-line flags take precedence where both exist: the
// flag's default is the variable's value.
package envconfig

import (
	"fmt"
	"os"
)

// Kind says who reads a variable.
type Kind string

// The kinds of variables.
const (
	Config Kind = "config" // the facegate binary or the Go client (package api)
	Build  Kind = "build"  // scripts/deps.sh and the Makefile
	Test   Kind = "test"   // a test switch: tests and make targets read it, facegate does not
)

// Var is one environment variable.
type Var struct {
	Name string
	// Default is the value when the variable is unset, as the docs show it; "" for none.
	Default     string
	Kind        Kind
	Description string
}

// Vars lists every FACEGATE_* variable, facegate's own first, then the build's, then the test switches.
var Vars = []Var{
	{"FACEGATE_ADDR", ":8080", Config, "Listen address of 'facegate serve' (--addr)."},
	{"FACEGATE_DATA", "data", Config, "Data directory of the embedded store (--data of serve, watch, keys, audit)."},
	{"FACEGATE_ADMIN_KEY", "", Config, "Admin API key 'facegate serve' creates on the first start of an empty store (at least 32 characters and about 80 bits of entropy, e.g. 'openssl rand -base64 32', or serve refuses to start); without it a random key is printed once."},
	{"FACEGATE_MODELS", "", Config, "Folder holding the fr_*.onnx models (--models); unset, the search path 'facegate version' prints (.deps/models of the source tree first)."},
	{"FACEGATE_ORT_LIB", "", Config, "ONNX Runtime shared library; unset, runtime/libonnxruntime.so.1 beside the models folder, then the models folder itself."},
	{"FACEGATE_SERVER", "http://localhost:8080", Config, "Server the CLI's remote commands and the Go client talk to (--server)."},
	{"FACEGATE_KEY", "", Config, "API key of the CLI's remote commands and the Go client (--key)."},
	{"FACEGATE_TEMPLATE_KEY_FILE", "", Config, "File of AES-256 keys that encrypt templates at rest, first line active (--template-key); see docs/protection.md."},
	{"FACEGATE_TEMPLATE_KEYS", "", Config, "The template keys themselves, when there is no key file."},
	{"FACEGATE_TEMPLATE_SECRET_FILE", "", Config, "File holding the secret of the unlinkable template transform (--template-secret)."},
	{"FACEGATE_TEMPLATE_SECRET", "", Config, "The template transform's secret itself, when there is no secret file."},
	{"FACEGATE_AUDIT_KEY_FILE", "", Config, "File holding the audit checkpoint signing key from 'facegate audit keygen' (--audit-key)."},
	{"FACEGATE_AUDIT_KEY", "", Config, "The audit signing key itself, when there is no key file."},
	{"FACEGATE_INFERENCES", "", Config, "Sensitive inferences /v1/detect may run, comma-separated: age, gender, expression (--enable-inferences); none by default."},
	{"FACEGATE_FFMPEG", "ffmpeg", Config, "ffmpeg binary that decodes video streams (--ffmpeg)."},
	{"FACEGATE_STREAM_DIRS", "", Config, "Folders, comma-separated, whose video files streams configured through the API may read (--stream-dirs of serve); none by default: file sources are refused."},
	{"FACEGATE_ALLOW_PRIVATE_NETWORKS", "false", Config, "true lets HTTP stream sources and webhooks reach loopback, private, link-local and other internal addresses (--allow-private-networks of serve)."},

	{"FACEGATE_DEPS", ".deps", Build, "Folder scripts/deps.sh fills with the runtime, the models and the test photos (relative to the source tree)."},

	{"FACEGATE_LOAD", "", Test, "Set to 1 to run the load test (make loadtest)."},
	{"FACEGATE_LOAD_OUT", "", Test, "File the load test writes its JSON report to."},
	{"FACEGATE_LOAD_SUBJECTS", "10000", Test, "Gallery size of the load test."},
	{"FACEGATE_LOAD_CLIENTS", "16", Test, "Concurrent clients of the load test."},
	{"FACEGATE_LOAD_SECONDS", "30", Test, "Duration of the load test's measured run."},
	{"FACEGATE_CROWD_MEASURE", "", Test, "Set to 1 to print the crowd profile's recall by face height on the downscaled dlib photos (engine TestCrowdSmallFacesMeasure)."},
	{"FACEGATE_VIDEOBENCH", "", Test, "Set to 1 to run the 1080p real-time video benchmark (make videobench)."},
	{"FACEGATE_VIDEOBENCH_OUT", "", Test, "File the video benchmark writes its JSON report to."},
	{"FACEGATE_VIDEOBENCH_SECONDS", "60", Test, "Duration of the video benchmark."},
	{"FACEGATE_PROTECT_LFW", "", Test, "Set to 1 to run the LFW measurement of the template transform."},
	{"FACEGATE_PROTECT_LFW_CACHE", "", Test, "File that keeps that measurement's templates between runs."},
	{"FACEGATE_SUPPRESSION_EVAL", "", Test, "Set to 1 to run the LFW evaluation of the rejection rules (make eval-suppression)."},
	{"FACEGATE_SUPPRESSION_OUT", "out/suppression.json", Test, "File that evaluation writes its report to."},
	{"FACEGATE_BENCH_N", "10000", Test, "Gallery size of the store's template benchmark (go test -bench ./store/sqlite)."},
	{"FACEGATE_CONSOLE_SCREENSHOTS", "out/console-e2e", Test, "Folder the console's browser test writes its screenshots to (make console-screenshots: docs/console)."},
	{"FACEGATE_CHROMIUM", "/usr/bin/chromium", Test, "Chromium the console's browser test drives."},
	{"FACEGATE_DATASETS", "../shared/datasets", Test, "Shared datasets folder of the console's browser test."},
	{"FACEGATE_SERVER_HELPER", "", Test, "Set by the server's crash tests in the server process they start; not for people."},
	{"FACEGATE_SERVER_HELPER_DATA", "", Test, "Data directory of that helper server process; not for people."},
	{"FACEGATE_SERVER_HELPER_ANALYSES", "", Test, "Concurrent analyses of that helper server process; not for people."},
	{"FACEGATE_SQLITE_CRASH_HELPER", "", Test, "Set by the store's crash test in the writer process it kills; not for people."},
	{"FACEGATE_SQLITE_CRASH_DIR", "", Test, "Store folder of that writer process; not for people."},
	{"FACEGATE_SQLITE_CRASH_GALLERY", "", Test, "Gallery of that writer process; not for people."},
	{"FACEGATE_TEST_AUDIT_KEY", "", Test, "Set by the audit key test to check that the key is read from the environment; not for people."},
	{"FACEGATE_TEST_PROTECT_KEYS", "", Test, "Set by the keyring test likewise; not for people."},
	{"FACEGATE_TEST_PROTECT_SECRET", "", Test, "Set by the transform secret test likewise; not for people."},
}

// Lookup returns the table entry of name.
func Lookup(name string) (Var, bool) {
	for _, v := range Vars {
		if v.Name == name {
			return v, true
		}
	}
	return Var{}, false
}

// Get returns the value of the variable name, or its default when it is unset or empty. A name not in Vars is a
// programming error and panics: every variable facegate reads is in the table.
func Get(name string) string {
	v, ok := Lookup(name)
	if !ok {
		panic(fmt.Sprintf("envconfig: %s is not in the table of variables", name))
	}
	if s := os.Getenv(name); s != "" {
		return s
	}
	return v.Default
}

// Addr is the listen address of 'facegate serve'.
func Addr() string { return Get("FACEGATE_ADDR") }

// Data is the data directory of the embedded store.
func Data() string { return Get("FACEGATE_DATA") }

// AdminKey is the admin API key to create on the first start; "" for a random one.
func AdminKey() string { return Get("FACEGATE_ADMIN_KEY") }

// Models is the models folder; "" for the search path.
func Models() string { return Get("FACEGATE_MODELS") }

// ORTLib is the ONNX Runtime library; "" to look beside the models.
func ORTLib() string { return Get("FACEGATE_ORT_LIB") }

// Server is the server address of the CLI's remote commands and the Go client.
func Server() string { return Get("FACEGATE_SERVER") }

// Key is the API key of the CLI's remote commands and the Go client.
func Key() string { return Get("FACEGATE_KEY") }

// TemplateKeyFile is the file of template encryption keys; "" for none.
func TemplateKeyFile() string { return Get("FACEGATE_TEMPLATE_KEY_FILE") }

// TemplateSecretFile is the file holding the template transform's secret; "" for none.
func TemplateSecretFile() string { return Get("FACEGATE_TEMPLATE_SECRET_FILE") }

// TemplateSecret is the template transform's secret given directly; "" for none.
func TemplateSecret() string { return Get("FACEGATE_TEMPLATE_SECRET") }

// AuditKeyFile is the file holding the audit signing key; "" for none.
func AuditKeyFile() string { return Get("FACEGATE_AUDIT_KEY_FILE") }

// Inferences lists the sensitive inferences /v1/detect may run, comma-separated; "" for none.
func Inferences() string { return Get("FACEGATE_INFERENCES") }

// FFmpeg is the ffmpeg binary that decodes video streams.
func FFmpeg() string { return Get("FACEGATE_FFMPEG") }

// StreamDirs lists the folders, comma-separated, whose files streams configured through the API may read; ""
// for none.
func StreamDirs() string { return Get("FACEGATE_STREAM_DIRS") }

// AllowPrivateNetworks is "true" when HTTP stream sources and webhooks may reach internal addresses (any value
// strconv.ParseBool reads; the CLI refuses others).
func AllowPrivateNetworks() string { return Get("FACEGATE_ALLOW_PRIVATE_NETWORKS") }
