// Package modelpack finds the ONNX Runtime library and the face models on disk, checks them against the SHA-256
// sums pinned in pack.json (embedded in the binary), and carries the pack's calibrated decision threshold.
package modelpack

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/facegate/facegate/envconfig"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
)

//go:embed pack.json
var packJSON []byte

// File is one pinned file.
type File struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Core models are needed for every analysis; the others only when an attribute asks for them.
	Core bool `json:"core,omitempty"`
}

// Threshold is the default 1:1 decision threshold on cosine similarity and how it was obtained.
type Threshold struct {
	Value       float64 `json:"value"`
	FMR         float64 `json:"fmr"`
	Calibration string  `json:"calibration"`
	// Table lists calibrated thresholds for a range of false-match rates, most permissive first.
	Table []Operating `json:"table"`
}

// Operating is one calibrated operating point.
type Operating struct {
	FMR       float64 `json:"fmr"`
	Threshold float64 `json:"threshold"`
}

// ThresholdFor returns the threshold for a target false-match rate, interpolating log-linearly between
// calibrated points; ok is false outside the calibrated range.
func (p Pack) ThresholdFor(fmr float64) (float64, bool) {
	t := p.Threshold.Table
	if len(t) == 0 || fmr <= 0 {
		return 0, false
	}
	for i := range t {
		if fmr == t[i].FMR {
			return t[i].Threshold, true
		}
		if i > 0 && fmr < t[i-1].FMR && fmr > t[i].FMR {
			a, b := math.Log(t[i-1].FMR), math.Log(t[i].FMR)
			w := (math.Log(fmr) - a) / (b - a)
			return t[i-1].Threshold + w*(t[i].Threshold-t[i-1].Threshold), true
		}
	}
	return 0, false
}

// FMRRange describes the calibrated range for messages.
func (p Pack) FMRRange() string {
	t := p.Threshold.Table
	if len(t) == 0 {
		return "(none)"
	}
	return fmt.Sprintf("[%g, %g]", t[len(t)-1].FMR, t[0].FMR)
}

// Pack describes the model pack.
type Pack struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	License string `json:"license"`
	Runtime struct {
		Package string `json:"package"`
		File
	} `json:"runtime"`
	Models    []File    `json:"models"`
	Threshold Threshold `json:"threshold"`
}

// Manifest returns the pack description embedded in the binary.
func Manifest() Pack {
	var p Pack
	if err := json.Unmarshal(packJSON, &p); err != nil {
		panic("modelpack: embedded pack.json is invalid: " + err.Error())
	}
	return p
}

// ErrNotFound and ErrChecksum classify Locate's failures.
var (
	ErrNotFound = errors.New("modelpack: not found")
	ErrChecksum = errors.New("modelpack: checksum mismatch")
)

// Fix is the advice every error carries.
const Fix = "run 'make deps' (or scripts/deps.sh) in the facegate source tree, or point --models / FACEGATE_MODELS at a folder holding the fr_*.onnx files"

// Paths are the located runtime library and models folder.
type Paths struct {
	Runtime string
	Models  string
}

// SearchDirs lists, in order, where Locate looks for the models folder when none is given: $FACEGATE_MODELS,
// .deps/models beside the executable's parent folder (bin/../.deps/models, how 'make' lays it out), .deps/models
// under the current directory and its parents, $XDG_DATA_HOME/facegate/models (or ~/.local/share/...),
// /usr/local/share/facegate/models and /usr/share/facegate/models.
func SearchDirs() []string {
	var dirs []string
	if d := envconfig.Models(); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), ".deps", "models"))
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), ".deps", "models"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, ".deps", "models"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "facegate", "models"))
	} else if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".local", "share", "facegate", "models"))
	}
	return append(dirs, "/usr/local/share/facegate/models", "/usr/share/facegate/models")
}

// Locate finds the models folder (modelsDir if not empty, else the first of SearchDirs holding fr_detect.onnx)
// and the runtime library ($FACEGATE_ORT_LIB, else ../runtime/libonnxruntime.so.1 next to the models folder,
// else the models folder itself), and verifies the checksum of the runtime and of every core model.
func Locate(modelsDir string) (Paths, error) {
	pack := Manifest()
	var p Paths
	if modelsDir != "" {
		if _, err := os.Stat(filepath.Join(modelsDir, pack.Models[0].File)); err != nil {
			return p, fmt.Errorf("%w: %s has no %s: %s", ErrNotFound, modelsDir, pack.Models[0].File, Fix)
		}
		p.Models = modelsDir
	} else {
		for _, d := range SearchDirs() {
			if _, err := os.Stat(filepath.Join(d, pack.Models[0].File)); err == nil {
				p.Models = d
				break
			}
		}
		if p.Models == "" {
			return p, fmt.Errorf("%w: no folder with %s among the search path (see 'facegate version'): %s", ErrNotFound, pack.Models[0].File, Fix)
		}
	}
	if lib := envconfig.ORTLib(); lib != "" {
		p.Runtime = lib
	} else {
		for _, c := range []string{
			filepath.Join(filepath.Dir(p.Models), "runtime", pack.Runtime.File.File),
			filepath.Join(p.Models, pack.Runtime.File.File),
		} {
			if _, err := os.Stat(c); err == nil {
				p.Runtime = c
				break
			}
		}
		if p.Runtime == "" {
			return p, fmt.Errorf("%w: %s not found beside %s (or set FACEGATE_ORT_LIB): %s", ErrNotFound, pack.Runtime.File.File, p.Models, Fix)
		}
	}
	if err := Verify(p.Runtime, pack.Runtime.SHA256); err != nil {
		return p, err
	}
	for _, m := range pack.Models {
		if !m.Core {
			continue
		}
		if err := Verify(filepath.Join(p.Models, m.File), m.SHA256); err != nil {
			return p, err
		}
	}
	return p, nil
}

// VerifyOptional checks an attribute model before first use.
func VerifyOptional(modelsDir, file string) error {
	for _, m := range Manifest().Models {
		if m.File == file {
			return Verify(filepath.Join(modelsDir, file), m.SHA256)
		}
	}
	return fmt.Errorf("%w: %s is not in the model pack", ErrNotFound, file)
}

var verified sync.Map // path -> size+mtime key already checked

// Verify checks a file's SHA-256. Results are cached per path, size and modification time within the process.
func Verify(path, want string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %s", ErrNotFound, path, Fix)
	}
	key := fmt.Sprintf("%d/%d", st.Size(), st.ModTime().UnixNano())
	if v, ok := verified.Load(path); ok && v.(string) == key {
		return nil
	}
	got, err := FileSHA256(path)
	if err != nil {
		return fmt.Errorf("modelpack: %w", err)
	}
	if got != want {
		return fmt.Errorf("%w: %s has sha256 %s, want %s (corrupt or wrong version): %s", ErrChecksum, path, got, want, Fix)
	}
	verified.Store(path, key)
	return nil
}

// FileSHA256 hashes a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
