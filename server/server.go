// Package server is facegate's HTTP API: detection and comparison of uploaded images, galleries of enrolled
// subjects, 1:N search and 1:1 verification, API keys with roles, limits, health checks and Prometheus metrics.
// The store (system of record) and the in-memory index are passed in; the server keeps them in step.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/events"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/protect"
	"github.com/facegate/facegate/recognize"
)

// Config configures a Server.
type Config struct {
	Store facegate.Store
	// Engine analyses images: *engine.Engine, or a deterministic analyser in tests that need no models.
	Engine engine.Analyzer
	Index  *index.Index
	Logger *slog.Logger

	MaxBodyBytes   int64         // default 16 MiB
	MaxPixels      int64         // default 40 megapixels
	MaxImageMemory int64         // default 320 MiB: most memory one image may need, estimated from its header (imgio.Limits.MaxMemory)
	RequestTimeout time.Duration // default 30 s
	// RatePerSecond and Burst set each API key's token bucket (default 20/s, burst 40). Zero rate: unlimited.
	RatePerSecond float64
	Burst         int
	// MaxAnalyses bounds the images decoded and analysed at once (default 2 per CPU). Requests beyond it wait
	// their turn (within the request timeout), which keeps memory bounded and latency fair under load.
	MaxAnalyses int
	// MaxAnalysesPerKey bounds the analyses one API key runs at once (default max(1, MaxAnalyses/2)), so that
	// one key cannot hold every slot; its further requests wait for its own share (slots.go).
	MaxAnalysesPerKey int
	// AuditKey signs the audit log's checkpoints (every AuditCheckpointEvery entries, default 1000, and at each
	// retention sweep when there are new entries). Without it the chain is still kept and verifiable, but no
	// checkpoint is signed, so a consistent rewrite of the whole log would go unnoticed.
	AuditKey             ed25519.PrivateKey
	AuditCheckpointEvery int
	// AuditCheckpoints, when set, is a file every signed checkpoint is also appended to (JSON lines), outside
	// the database: ship it elsewhere and check the log against it with 'facegate audit verify --checkpoints'.
	// It needs AuditKey.
	AuditCheckpoints string
	// AuditBudget is the audit log's size budget in bytes (default DefaultAuditBudget, 1 GiB): the metrics
	// facegate_audit_log_bytes and facegate_audit_log_budget_bytes show it, and the server logs a warning at
	// 90% and an error past it. The log is never truncated.
	AuditBudget int64
	// MaxHeaderBytes caps the size of a request's header, request line included (default 64 KiB): a longer
	// one is answered 431 before any handler runs.
	MaxHeaderBytes int
	// Transform, when set, is the deployment's secret orthogonal transform of templates (unlinkable templates,
	// docs/protection.md). Stored templates must have been made with the same transform: New checks the
	// fingerprint the store recorded.
	Transform *protect.Transform
	// TemplatesEncrypted tells /v1/me that the store seals templates (the CLI sets it with --template-key).
	TemplatesEncrypted bool
	// Console, when set, serves the web console at every path outside /v1 (GET only).
	Console http.Handler
	// Inferences lists the sensitive inferences (age, gender, expression) this deployment allows on /v1/detect;
	// none by default. Liveness is always allowed.
	Inferences []engine.Attribute
	// FFmpeg is the ffmpeg binary streams decode with (default: ffmpeg from PATH).
	FFmpeg string
	// StreamDirs are the folders whose video files streams may read (subfolders included, symbolic links
	// resolved). None by default: every file source is refused, with one answer whatever the reason, so that
	// an API client can neither read nor probe the server's files.
	StreamDirs []string
	// AllowPrivateNetworks lets HTTP stream sources and webhooks reach loopback, private, link-local and other
	// internal addresses (cameras and receivers on the deployment's own network). Off by default: such
	// addresses are refused when a stream is configured and at every connection (package netguard). It also
	// sets Webhooks.AllowPrivateNetworks. RTSP sources are not restricted.
	AllowPrivateNetworks bool
	// CropSweepInterval is how often the retention sweep runs (expired match crops, faces past their gallery's
	// retention, old events and crowd intervals; default 1 minute).
	CropSweepInterval time.Duration
	// EventRetention is how long events stay in the in-memory replay ring (default 24 hours).
	EventRetention time.Duration
	// CrowdRetention is how long streams' crowd intervals are kept in the stored crowd history (default
	// facegate.DefaultCrowdRetention, 90 days); the retention sweep deletes older ones.
	CrowdRetention time.Duration
	// MaxCrowdIntervals is how many stored crowd intervals one heatmap sums at most (default
	// DefaultMaxCrowdIntervals); a period holding more is answered 400 period_too_long.
	MaxCrowdIntervals int
	// NegativeRetention is how long a rejected watchlist alert is remembered as "not this person" (default 90
	// days).
	NegativeRetention time.Duration
	// AlertCooldown groups a watchlist subject's sightings on one stream into one alert (default
	// facegate.DefaultAlertCooldown, 10 minutes).
	AlertCooldown time.Duration
	// Webhooks tunes webhook delivery (tests shorten the backoff).
	Webhooks events.DelivererOptions
}

// Server serves the API. Create it with New.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	limits  *rateLimiter
	ready   atomic.Bool
	mux     *http.ServeMux
	reqID   atomic.Uint64
	// writeMu orders writes that change both the store and the index, so the two never disagree (a face
	// indexed after its subject was deleted, say). SQLite serialises writers anyway.
	writeMu sync.Mutex
	// inflight counts running handlers, so Serve returns only when none is left.
	inflight sync.WaitGroup
	// analyses are the analysis slots of Config.MaxAnalyses and MaxAnalysesPerKey (slots.go).
	analyses *slots

	// bg lives as long as the server: streams, the crop sweeper and long-lived responses (SSE, previews) end
	// with it. Close cancels it.
	bg      context.Context
	stopBG  context.CancelFunc
	bgWG    sync.WaitGroup
	bus     *events.Bus
	hooks   *events.Deliverer
	streams streams
	closed  sync.Once

	auditMu        sync.Mutex
	lastCheckpoint int64            // seq of the last signed checkpoint
	known          *knownCheckpoint // the latest checkpoint known (database, checkpoints file, signed here)
	checkpointSink *checkpointSink
	refusals       refusals
	auditBytes     atomic.Int64 // about how many bytes the audit log takes (AuditBudget)
	budgetLevel    atomic.Int32 // 0 under 90% of the budget, 1 over 90%, 2 over it (logged once each)

	// rec makes every identification, verification, enrolment and alert decision (package recognize), for the
	// API and the streams alike.
	rec *recognize.Recognizer

	// bad holds the stored rows skipped at start because they cannot be read.
	bad quarantine

	// inferences are the sensitive inferences enabled now: Config.Inferences, or what an admin set with
	// PUT /v1/settings (kept in the store, so it survives a restart).
	inferences atomic.Pointer[[]engine.Attribute]
}

// New builds a server and loads every stored template into the index.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Engine == nil || cfg.Index == nil {
		return nil, errors.New("server: Store, Engine and Index are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 20
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 40_000_000
	}
	if cfg.MaxImageMemory <= 0 {
		cfg.MaxImageMemory = imgio.DefaultLimits.MaxMemory
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.RatePerSecond == 0 && cfg.Burst == 0 {
		cfg.RatePerSecond, cfg.Burst = 20, 40
	}
	if cfg.MaxAnalyses <= 0 {
		cfg.MaxAnalyses = 2 * runtime.NumCPU()
	}
	if cfg.MaxAnalysesPerKey <= 0 {
		cfg.MaxAnalysesPerKey = max(1, cfg.MaxAnalyses/2)
	}
	cfg.MaxAnalysesPerKey = min(cfg.MaxAnalysesPerKey, cfg.MaxAnalyses)
	if cfg.CropSweepInterval <= 0 {
		cfg.CropSweepInterval = time.Minute
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = 24 * time.Hour
	}
	if cfg.AuditCheckpointEvery <= 0 {
		cfg.AuditCheckpointEvery = 1000
	}
	if cfg.AuditBudget <= 0 {
		cfg.AuditBudget = DefaultAuditBudget
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.AuditCheckpoints != "" && cfg.AuditKey == nil {
		return nil, errors.New("server: an audit checkpoints file needs the audit key that signs the checkpoints")
	}
	if cfg.CrowdRetention <= 0 {
		cfg.CrowdRetention = facegate.DefaultCrowdRetention
	}
	if cfg.MaxCrowdIntervals <= 0 {
		cfg.MaxCrowdIntervals = DefaultMaxCrowdIntervals
	}
	if cfg.NegativeRetention <= 0 {
		cfg.NegativeRetention = 90 * 24 * time.Hour
	}
	cfg.Webhooks.AllowPrivateNetworks = cfg.AllowPrivateNetworks
	if cfg.Webhooks.Logger == nil {
		cfg.Webhooks.Logger = cfg.Logger
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(), limits: newRateLimiter(cfg.RatePerSecond, cfg.Burst),
		analyses: newSlots(cfg.MaxAnalyses, cfg.MaxAnalysesPerKey), bus: events.NewBus(4096), hooks: events.NewDeliverer(cfg.Webhooks),
		streams: streams{run: map[string]*runningStream{}, failed: map[string]string{}}}
	s.bg, s.stopBG = context.WithCancel(context.Background())
	rec, err := recognize.New(recognize.Config{Index: cfg.Index, Store: cfg.Store, Cooldown: cfg.AlertCooldown, Logger: cfg.Logger,
		Observe: s.observeDecision})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.rec = rec
	if err := checkTransform(ctx, cfg.Store, cfg.Transform); err != nil {
		return nil, err
	}
	start := time.Now()
	n := 0
	err = cfg.Store.EachTemplate(ctx, func(f *facegate.FaceRecord) error {
		if err := cfg.Index.Add(f.GalleryID, f.SubjectID, f.ID, f.Template); err != nil {
			s.quarantine(facegate.BadRow{Kind: "face", ID: f.ID, Reason: "the template is not a valid template", Err: err})
			return nil
		}
		n++
		return nil
	})
	// A tampered or corrupt row does not stop the server: it is left out and reported.
	if err := s.readable(err); err != nil {
		return nil, fmt.Errorf("server: loading templates: %w", err)
	}
	s.log.Info("index loaded", "templates", n, "took", time.Since(start))
	s.metrics.gauge("facegate_quarantined_rows", "Stored rows skipped at start because they cannot be read (tampered, corrupt), by kind; listed in GET /v1/me for admins.", s.quarantineGauge)
	s.metrics.gauge("facegate_gallery_templates", "Templates in each gallery's search index.", s.galleryGauge)
	s.metrics.gauge("facegate_analyses_in_progress", "Images being decoded and analysed now (at most max_analyses).", func() map[string]float64 {
		return map[string]float64{"": float64(s.analyses.inUse())}
	})
	if err := s.loadInferences(ctx); err != nil {
		return nil, err
	}
	cps, err := cfg.Store.AuditCheckpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, c := range cps {
		s.lastCheckpoint = max(s.lastCheckpoint, c.Seq)
	}
	if err := s.startCheckpoints(ctx, cps); err != nil {
		return nil, err
	}
	if err := s.startAuditLog(ctx); err != nil {
		return nil, err
	}
	if cfg.AuditKey == nil {
		s.log.Warn("audit checkpoints are not signed: give 'facegate serve' an --audit-key (see 'facegate audit keygen')")
	}
	s.streamGauges()
	s.routes()
	if err := s.startStreams(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		s.sweepLoop(s.bg, cfg.CropSweepInterval)
	}()
	s.ready.Store(true)
	return s, nil
}

// Close stops the streams, the crop sweeper and webhook delivery (events still queued for a webhook are
// dropped after a 5 s grace period). Serve calls it when it shuts down; it is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closed.Do(func() {
		s.ready.Store(false)
		s.stopBG()
		s.streams.wg.Wait()
		s.bgWG.Wait()
		s.flushRefusals(context.Background())
		s.checkpointAudit(context.Background()) // the last entries are signed before the server stops
		if cerr := s.checkpointSink.close(); cerr != nil {
			s.log.Error("closing the audit checkpoints file", "err", cerr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.hooks.Close(ctx)
	})
	return err
}

func (s *Server) galleryGauge() map[string]float64 {
	out := map[string]float64{}
	gs, err := s.cfg.Store.Galleries(context.Background())
	if err != nil {
		return out
	}
	for _, g := range gs {
		out[labels("gallery", g.Name)] = float64(s.cfg.Index.Len(g.ID))
	}
	return out
}

// Handler is the server's root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// EnsureAdminKey creates the first admin key when the store has none: the given secret (from the environment)
// if not empty, else a new random one, which is returned so the caller can print it once. It returns "" when
// keys already exist.
func (s *Server) EnsureAdminKey(ctx context.Context, secret string) (string, error) {
	keys, err := s.cfg.Store.Keys(ctx)
	if err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	if len(keys) > 0 {
		return "", nil
	}
	if secret == "" {
		secret = newSecret()
	}
	k := &facegate.APIKey{Name: "initial admin", Role: facegate.RoleAdmin, Hash: hashKey(secret)}
	if err := s.cfg.Store.CreateKey(ctx, k); err != nil {
		return "", fmt.Errorf("server: creating the first admin key: %w", err)
	}
	return secret, nil
}

// newSecret returns a new API key: "fg_" and 32 random bytes in URL-safe base64.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "fg_" + base64.RawURLEncoding.EncodeToString(b)
}

// hashKey is how keys are stored: SHA-256 of the secret. Keys are 256-bit random values, so a fast hash is as
// strong as a slow one here and keeps every request's lookup cheap.
func hashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Serve serves on ln until ctx ends, then shuts down gracefully, letting in-flight requests finish (up to 30 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCert, tlsKey string) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout + 10*time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if tlsCert != "" {
			errc <- hs.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Long-lived responses (SSE, previews) end with the background context, so Shutdown does not wait 30 s for
	// them; ordinary requests finish normally.
	s.stopBG()
	err := hs.Shutdown(shutdownCtx)
	if cerr := s.Close(); err == nil && cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		err = cerr
	}
	// Shutdown gives up on connections after 30 s, but their handlers may still be using the engine and the
	// store, which the caller closes next: wait for every handler to return first.
	s.inflight.Wait()
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

// route describes one endpoint: who may call it.
type route struct {
	pattern string
	role    facegate.Role // "" = no key needed
	handler func(w http.ResponseWriter, r *http.Request) error
	// long marks a long-lived response (SSE, MJPEG): no request timeout or write deadline; it ends when the
	// client leaves or the server stops.
	long bool
	// batch marks a route that makes many changes (bulk review, expiry): its audit entry says what all of them
	// did, so it is written after them instead of with the first one.
	batch bool
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	for _, rt := range s.routeTable() {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errf(http.StatusNotFound, codeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	}
	s.mux.HandleFunc("/v1/", notFound)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The web console, when there is one: every GET that is not the API. Its pages call the API with the
		// user's key.
		if s.cfg.Console != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.cfg.Console.ServeHTTP(w, r)
			return
		}
		notFound(w, r)
	})
}

type ctxKey int

const keyCtx ctxKey = 1

// wrap adds request ids, logging, metrics, authentication, authorisation, rate limiting and the request timeout.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		start := time.Now()
		id := strconv.FormatUint(s.reqID.Add(1), 36)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		var out http.ResponseWriter = rec
		var pending *audit.Pending
		var buf *auditBuffer
		if audited(rt) {
			target := boundedTarget(rt.pattern, r)
			pending = audit.NewPending(func(d map[string]string) *audit.Entry {
				actor := d["actor"]
				delete(d, "actor")
				d["request"] = id
				return &audit.Entry{Actor: actor, Action: rt.pattern, Target: target, Outcome: "ok", Details: capDetails(d)}
			}, !rt.batch)
			r = r.WithContext(audit.WithPending(r.Context(), pending))
			if !rt.long {
				buf = newAuditBuffer(rec)
				out = buf
			}
		}
		err := s.serve(out, r, rt)
		if err != nil {
			s.fail(out, id, rt.pattern, err)
		}
		if pending != nil {
			s.finishAudit(r.Context(), pending, buf, rec, rt.pattern)
		}
		d := time.Since(start)
		s.metrics.inc("facegate_http_requests_total", "HTTP requests by route and status.", "route", rt.pattern, "status", strconv.Itoa(rec.status))
		s.metrics.observe("facegate_http_request_duration_seconds", "HTTP request latency by route.", d, "route", rt.pattern)
		s.log.Info("request", "id", id, "route", rt.pattern, "status", rec.status, "took", d)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt route) error {
	if rt.role != "" {
		key, err := s.authenticate(r)
		if err != nil {
			return err
		}
		note(r, "actor", key.ID)
		if !allowed(key.Role, rt.role) {
			return errf(http.StatusForbidden, codeForbidden, "key %q has role %s; this route needs %s", key.Name, key.Role, rt.role)
		}
		if ok, wait := s.limits.allow(key.ID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
			return errf(http.StatusTooManyRequests, codeRateLimited, "rate limit exceeded; retry in %s", wait.Round(time.Millisecond))
		}
		r = r.WithContext(context.WithValue(r.Context(), keyCtx, key))
	}
	if rt.long {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(s.bg, cancel)
		defer stop()
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		return rt.handler(w, r.WithContext(ctx))
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	return rt.handler(w, r.WithContext(ctx))
}

func (s *Server) authenticate(r *http.Request) (*facegate.APIKey, error) {
	secret := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); secret == "" && strings.HasPrefix(a, "Bearer ") {
		secret = strings.TrimPrefix(a, "Bearer ")
	}
	if secret == "" {
		return nil, errf(http.StatusUnauthorized, codeUnauthorized, "an API key is required (Authorization: Bearer KEY or X-API-Key)")
	}
	key, err := s.cfg.Store.KeyByHash(r.Context(), hashKey(secret))
	if errors.Is(err, facegate.ErrNotFound) || (err == nil && key.Revoked) {
		return nil, errf(http.StatusUnauthorized, codeUnauthorized, "unknown or revoked API key")
	}
	if err != nil {
		return nil, err
	}
	return key, nil
}

// allowed reports whether a key of role have may use a route that needs role need.
func allowed(have, need facegate.Role) bool {
	rank := map[facegate.Role]int{facegate.RoleDevice: 1, facegate.RoleOperator: 2, facegate.RoleAdmin: 3}
	return rank[have] >= rank[need] && rank[have] > 0
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets long-lived responses (SSE, MJPEG) push each message out.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer (for write deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// rateLimiter is a token bucket per API key.
type rateLimiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(max(burst, 1)), b: map[string]*bucket{}}
}

func (l *rateLimiter) allow(id string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.b[id]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.b[id] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// defaultThreshold is the model pack's calibrated default.
func defaultThreshold() (float64, float64) {
	t := modelpack.Manifest().Threshold
	return t.Value, t.FMR
}
