package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/console"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/envconfig"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/protect"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

func runServe(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "serve", "serve [--addr :8080] [--data DIR] [--tls-cert FILE --tls-key FILE]")
	c.register(fs)
	// A server logs its requests: info by default.
	if f := fs.Lookup("log-level"); f != nil {
		f.DefValue = "info"
		_ = f.Value.Set("info")
	}
	addr := fs.String("addr", envconfig.Addr(), "listen address ($FACEGATE_ADDR)")
	data := fs.String("data", envconfig.Data(), "data directory for the embedded store ($FACEGATE_DATA)")
	cert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key serves HTTPS")
	key := fs.String("tls-key", "", "TLS private key file (PEM)")
	rate := fs.Float64("rate", 20, "requests per second allowed per API key (0 = unlimited)")
	burst := fs.Int("burst", 40, "burst size of the per-key rate limit")
	maxBody := fs.Int64("max-body", 16<<20, "largest request body in bytes")
	maxPixels := fs.Int64("max-pixels", 40_000_000, "largest decoded image in pixels (checked from the header)")
	maxImageMemory := fs.Int64("max-image-memory", imgio.DefaultLimits.MaxMemory, "most memory in bytes one image may need to decode and analyse, estimated from its header before decoding (a 16-bit PNG needs more a pixel than an 8-bit one)")
	timeout := fs.Duration("timeout", 30*time.Second, "request timeout, waiting for an analysis slot included")
	analyses := fs.Int("max-analyses", 2*runtime.NumCPU(), "images decoded and analysed at once; more requests wait their turn")
	perKey := fs.Int("max-analyses-per-key", 0, "images one API key may have analysed at once, so that one key cannot hold every slot (0: half of --max-analyses, at least 1)")
	templateKeys := fs.String("template-key", envconfig.TemplateKeyFile(), "file of AES-256 keys that encrypt templates at rest ('facegate keys generate'; first line active; mode 0600, outside --data; or the keys themselves in $FACEGATE_TEMPLATE_KEYS); reloaded on SIGHUP ($FACEGATE_TEMPLATE_KEY_FILE)")
	templateSecret := fs.String("template-secret", envconfig.TemplateSecretFile(), "file holding the secret of the unlinkable template transform ('facegate keys secret'; or the secret itself in $FACEGATE_TEMPLATE_SECRET); every stored template is made with it ($FACEGATE_TEMPLATE_SECRET_FILE)")
	eventRetention := fs.Duration("event-retention", 24*time.Hour, "how long events stay in memory for replay (SSE Last-Event-ID, /v1/events/recent)")
	negativeRetention := fs.Duration("not-this-person-retention", 90*24*time.Hour, "how long a rejected watchlist alert is remembered (it suppresses later matches that look more like the rejected capture than like the person's photos; listed and undone at .../subjects/{s}/rejections)")
	crowdRetention := fs.Duration("crowd-retention", facegate.DefaultCrowdRetention, "how long streams' crowd intervals (counts, dwell, zones, lines, heatmap: aggregates only) are kept in the crowd history behind GET /v1/streams/{id}/heatmap and /crowd")
	alertCooldown := fs.Duration("alert-cooldown", facegate.DefaultAlertCooldown, "a watchlist person's sightings on one stream within this long of the last one join the open alert instead of raising a new one")
	auditKey := fs.String("audit-key", envconfig.AuditKeyFile(), "file holding the audit checkpoint signing key from 'facegate audit keygen' (mode 0600, outside --data; or the key itself in $FACEGATE_AUDIT_KEY) ($FACEGATE_AUDIT_KEY_FILE)")
	auditCheckpoints := fs.String("audit-checkpoints", "", "file (outside --data; ship it elsewhere) every signed audit checkpoint is also appended to, as JSON lines, for 'facegate audit verify --checkpoints FILE'; needs --audit-key")
	auditBudget := fs.Int64("audit-budget", server.DefaultAuditBudget, "the audit log's size budget in bytes: a warning is logged at 90% and an error past it (metrics facegate_audit_log_bytes, facegate_audit_log_budget_bytes); the log is never truncated")
	maxHeader := fs.Int("max-header-bytes", server.DefaultMaxHeaderBytes, "largest request header in bytes, request line included (answered 431 beyond)")
	diskReserve := fs.Int64("disk-reserve", 64<<20, "bytes of disk kept in reserve in the data directory ("+sqlite.ReserveFile+"), released when the disk is full so erasures and their audit entries still work (0: none)")
	inferences := fs.String("enable-inferences", envconfig.Inferences(), "sensitive inferences /v1/detect may run: comma-separated age, gender, expression (default none; liveness is always allowed) ($FACEGATE_INFERENCES)")
	ffmpegBin := fs.String("ffmpeg", envconfig.FFmpeg(), "ffmpeg binary that decodes video streams ($FACEGATE_FFMPEG)")
	streamDirs := fs.String("stream-dirs", envconfig.StreamDirs(), "folders, comma-separated, whose video files streams may read (subfolders included); default none: file sources are refused ($FACEGATE_STREAM_DIRS)")
	privateDefault, err := strconv.ParseBool(envconfig.AllowPrivateNetworks())
	if err != nil {
		return usagef("$FACEGATE_ALLOW_PRIVATE_NETWORKS must be true or false")
	}
	allowPrivate := fs.Bool("allow-private-networks", privateDefault, "let HTTP stream sources and webhooks reach loopback, private, link-local and other internal addresses (cameras and receivers on this network; RTSP is never restricted) ($FACEGATE_ALLOW_PRIVATE_NETWORKS)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	dirs, err := streamFolders(*streamDirs)
	if err != nil {
		return err
	}
	if *eventRetention <= 0 || *negativeRetention <= 0 || *alertCooldown <= 0 || *crowdRetention <= 0 {
		return usagef("--event-retention, --not-this-person-retention, --crowd-retention and --alert-cooldown must be positive")
	}
	if *maxBody <= 0 || *maxPixels <= 0 || *maxImageMemory <= 0 || *timeout <= 0 || *analyses <= 0 {
		return usagef("--max-body, --max-pixels, --max-image-memory, --timeout and --max-analyses must be positive")
	}
	if *auditBudget <= 0 || *maxHeader <= 0 || *diskReserve < 0 {
		return usagef("--audit-budget and --max-header-bytes must be positive, --disk-reserve at least 0")
	}
	if *perKey < 0 || *perKey > *analyses {
		return usagef("--max-analyses-per-key must be 0 (half of --max-analyses) .. --max-analyses")
	}
	if *rate < 0 || *burst < 1 {
		return usagef("--rate must be >= 0 and --burst >= 1")
	}
	if (*cert == "") != (*key == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	enabled, err := engine.ParseAttributes(strings.Split(*inferences, ","))
	if err != nil {
		return usagef("--enable-inferences: want a comma-separated list of age, gender, expression")
	}
	if secret := envconfig.AdminKey(); secret != "" {
		if err := server.CheckAdminSecret(secret); err != nil {
			return err
		}
	}
	for _, f := range []struct{ flag, path, why string }{
		{"--audit-key", *auditKey, "whoever can rewrite the log could then re-sign it"},
		{"--tls-key", *key, "whoever copies the data directory would get the server's identity"},
		{"--template-key", *templateKeys, "whoever copies the data directory would get the key to its templates"},
		{"--audit-checkpoints", *auditCheckpoints, "whoever can rewrite the log could then rewrite its checkpoints too"},
	} {
		if err := checkOutsideData(f.flag, f.path, *data, f.why); err != nil {
			return err
		}
	}
	auditPriv, err := audit.LoadPrivateKey(*auditKey, "FACEGATE_AUDIT_KEY")
	if err != nil && !errors.Is(err, audit.ErrNoKey) {
		return err
	}
	if *auditCheckpoints != "" && auditPriv == nil {
		return usagef("--audit-checkpoints needs --audit-key: only signed checkpoints are written")
	}
	transform, err := loadTransform(*templateSecret, *data)
	if err != nil {
		return err
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	e, paths, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()
	st, err := sqlite.Open(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := loadTemplateKeys(st, *templateKeys, *data); err != nil {
		return err
	}
	if st.Encrypted() {
		// The first start with a key seals what was stored in clear; from then on nothing in clear is read.
		n, err := st.SealStore(env.Ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("store sealed with the template key", "values", n)
		}
	}
	if err := st.Reserve(*diskReserve); err != nil {
		return err
	}
	// SIGHUP reloads the template keys: add a new key first in the file, send SIGHUP, run 'facegate keys
	// rotate', then remove the old key and send SIGHUP again. No restart.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := loadTemplateKeys(st, *templateKeys, *data); err != nil {
				log.Error("template keys not reloaded", "err", err)
			} else {
				log.Info("template keys reloaded")
			}
		}
	}()
	srv, err := server.New(env.Ctx, server.Config{Store: st, Engine: e, Index: index.New(facegate.TemplateDim), Logger: log,
		MaxBodyBytes: *maxBody, MaxPixels: *maxPixels, MaxImageMemory: *maxImageMemory, RequestTimeout: *timeout, MaxAnalyses: *analyses, MaxAnalysesPerKey: *perKey, RatePerSecond: *rate, Burst: *burst,
		FFmpeg: *ffmpegBin, StreamDirs: dirs, AllowPrivateNetworks: *allowPrivate, Inferences: enabled, AuditKey: auditPriv, Transform: transform,
		AuditCheckpoints: *auditCheckpoints, AuditBudget: *auditBudget, MaxHeaderBytes: *maxHeader,
		EventRetention: *eventRetention, NegativeRetention: *negativeRetention, CrowdRetention: *crowdRetention, AlertCooldown: *alertCooldown, TemplatesEncrypted: st.Encrypted(),
		Console: console.Handler()})
	if err != nil {
		return err
	}
	defer srv.Close() // stops the streams before the store closes (Serve closes it too)
	// The index is loaded: the live heap is known.
	setServeMemoryLimit(log, *analyses, *maxImageMemory)
	secret, err := srv.EnsureAdminKey(env.Ctx, envconfig.AdminKey())
	if err != nil {
		return err
	}
	if secret != "" && envconfig.AdminKey() == "" {
		fmt.Fprintf(env.Stdout, "first start: created admin API key (shown once, stored only as a hash):\n  %s\n", secret)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	fmt.Fprintf(env.Stdout, "facegate %s serving on %s://%s (data %s, models %s)\n", facegate.Version, scheme, ln.Addr(), *data, paths.Models)
	return srv.Serve(env.Ctx, ln, *cert, *key)
}

// streamFolders parses --stream-dirs: each folder must exist; they are returned absolute.
func streamFolders(list string) ([]string, error) {
	var dirs []string
	for _, d := range strings.Split(list, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return nil, usagef("--stream-dirs: %s is not a folder", d)
		}
		dirs = append(dirs, mustAbs(d))
	}
	return dirs, nil
}

func mustAbs(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// loadTemplateKeys gives the store its template keyring from the key file (or $FACEGATE_TEMPLATE_KEYS); with
// neither, templates are stored in clear.
func loadTemplateKeys(st *sqlite.DB, path, data string) error {
	if err := checkOutsideData("--template-key", path, data, "whoever copies the data directory would get the key to its templates"); err != nil {
		return err
	}
	k, err := protect.LoadKeyring(path, "FACEGATE_TEMPLATE_KEYS")
	if err != nil {
		return err
	}
	if k != nil {
		st.SetKeyring(k)
	}
	return nil
}

// loadTransform reads the template transform's secret (file or $FACEGATE_TEMPLATE_SECRET); nil without one.
func loadTransform(path, data string) (*protect.Transform, error) {
	if err := checkOutsideData("--template-secret", path, data, "whoever copies the data directory would get the secret that makes its templates unlinkable"); err != nil {
		return nil, err
	}
	if path == "" && envconfig.TemplateSecret() == "" {
		return nil, nil
	}
	secret, err := protect.LoadSecret(path, "FACEGATE_TEMPLATE_SECRET")
	if err != nil {
		return nil, err
	}
	return protect.NewTransform(secret, facegate.TemplateDim)
}
