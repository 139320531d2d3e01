// Package onnx is facegate's only door to ONNX Runtime. It loads the shared library once per process, creates
// sessions once, and runs them with plain float32 slices in and out; every tensor it creates is destroyed before
// Run returns. Nothing else in facegate imports onnxruntime_go.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	initMu   sync.Mutex
	initPath string
	initErr  error
	inited   bool
)

// ErrRuntime is wrapped by every error that comes from loading or initialising the ONNX Runtime library.
var ErrRuntime = errors.New("onnx: runtime unavailable")

// Init loads the ONNX Runtime shared library at libPath and initialises the process-wide environment. It is safe
// to call more than once with the same library, however the path is spelt (relative or absolute, through a
// symbolic link); a second call with another library file is an error, since only one can be loaded per process.
func Init(libPath string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if inited {
		if !sameFile(libPath, initPath) {
			return fmt.Errorf("onnx: runtime already loaded from %s, cannot load another library %s", initPath, libPath)
		}
		return initErr
	}
	if _, err := os.Stat(libPath); err != nil {
		return fmt.Errorf("%w: %w", ErrRuntime, err)
	}
	ort.SetSharedLibraryPath(libPath)
	err := ort.InitializeEnvironment(ort.WithLogLevelError())
	if err != nil {
		err = fmt.Errorf("%w: loading %s: %w", ErrRuntime, libPath, err)
	}
	if abs, aerr := filepath.Abs(libPath); aerr == nil {
		libPath = abs // compared against later calls, whatever the working directory is then
	}
	inited, initPath, initErr = true, libPath, err
	return err
}

// sameFile reports whether a and b name the same file: equal once made absolute and cleaned, or the same file
// on disk (os.SameFile, which sees through symbolic and hard links).
func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// Version reports the loaded ONNX Runtime's version, or "" before Init.
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	if !inited || initErr != nil {
		return ""
	}
	return ort.GetVersion()
}

// Tensor describes one model input or output.
type Tensor struct {
	Name  string
	Shape []int64
}

// Size is the number of elements in the tensor.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= int(d)
	}
	return n
}

// Options tune a session.
type Options struct {
	// IntraOpThreads is the number of threads one Run may use; 0 lets ONNX Runtime choose (one per core).
	// A caller that runs sessions from several goroutines at once should set it so that goroutines x threads
	// does not exceed the cores it wants to use.
	IntraOpThreads int
}

// Model is a loaded ONNX model with fixed input and output shapes. It is safe for concurrent use.
type Model struct {
	Name    string
	Inputs  []Tensor
	Outputs []Tensor
	sess    *ort.DynamicAdvancedSession
}

// Load creates a session for the model at path. Init must have succeeded first.
func Load(path string, opt Options) (*Model, error) {
	in, out, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: reading %s: %w", path, err)
	}
	m := &Model{Name: path}
	var inNames, outNames []string
	for _, i := range in {
		if i.DataType != ort.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("onnx: %s: input %q is %v, only float32 is supported", path, i.Name, i.DataType)
		}
		m.Inputs = append(m.Inputs, Tensor{Name: i.Name, Shape: append([]int64(nil), i.Dimensions...)})
		inNames = append(inNames, i.Name)
	}
	for _, o := range out {
		if o.DataType != ort.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("onnx: %s: output %q is %v, only float32 is supported", path, o.Name, o.DataType)
		}
		m.Outputs = append(m.Outputs, Tensor{Name: o.Name, Shape: append([]int64(nil), o.Dimensions...)})
		outNames = append(outNames, o.Name)
	}
	for _, t := range append(append([]Tensor(nil), m.Inputs...), m.Outputs...) {
		for _, d := range t.Shape {
			if d <= 0 {
				return nil, fmt.Errorf("onnx: %s: tensor %q has a dynamic shape %v; facegate's models have fixed shapes", path, t.Name, t.Shape)
			}
		}
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	defer so.Destroy()
	if opt.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opt.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("onnx: intra-op threads: %w", err)
		}
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("onnx: inter-op threads: %w", err)
	}
	// Every session owns a thread pool (onnxruntime_go has no global pool). Spinning pool threads of several
	// sessions would fight over the cores long after their run ended (a one-face analysis took 72 ms instead of
	// 21 with 2 spinning threads per model on 2 cores), so idle pool threads sleep. Measured on fr_feature, 2
	// sleeping threads are no faster than 1 (11.3 ms both; 9.2 ms spinning): parallelism comes from running
	// independent model calls side by side instead (see engine.Config.Threads).
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("onnx: session config: %w", err)
	}
	// Denormal floats are slow on x86 and carry no information in these models.
	if err := so.AddSessionConfigEntry("session.set_denormal_as_zero", "1"); err != nil {
		return nil, fmt.Errorf("onnx: session config: %w", err)
	}
	sess, err := ort.NewDynamicAdvancedSession(path, inNames, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("onnx: creating session for %s: %w", path, err)
	}
	m.sess = sess
	return m, nil
}

// Run feeds inputs (one slice per model input, in order, each of the input's exact size) and returns one slice
// per output, in the order of m.Outputs. The returned slices belong to the caller.
func (m *Model) Run(inputs ...[]float32) ([][]float32, error) {
	if len(inputs) != len(m.Inputs) {
		return nil, fmt.Errorf("onnx: %s takes %d inputs, got %d", m.Name, len(m.Inputs), len(inputs))
	}
	ins := make([]ort.Value, len(inputs))
	outs := make([]ort.Value, len(m.Outputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, data := range inputs {
		spec := m.Inputs[i]
		if len(data) != spec.Size() {
			return nil, fmt.Errorf("onnx: %s input %q needs %d values, got %d", m.Name, spec.Name, spec.Size(), len(data))
		}
		t, err := ort.NewTensor(ort.NewShape(spec.Shape...), data)
		if err != nil {
			return nil, fmt.Errorf("onnx: input tensor %q: %w", spec.Name, err)
		}
		ins[i] = t
	}
	result := make([][]float32, len(m.Outputs))
	for i, spec := range m.Outputs {
		result[i] = make([]float32, spec.Size())
		t, err := ort.NewTensor(ort.NewShape(spec.Shape...), result[i])
		if err != nil {
			return nil, fmt.Errorf("onnx: output tensor %q: %w", spec.Name, err)
		}
		outs[i] = t
	}
	if err := m.sess.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("onnx: running %s: %w", m.Name, err)
	}
	return result, nil
}

// Close releases the session.
func (m *Model) Close() error {
	if m == nil || m.sess == nil {
		return nil
	}
	err := m.sess.Destroy()
	m.sess = nil
	if err != nil {
		return fmt.Errorf("onnx: closing %s: %w", m.Name, err)
	}
	return nil
}

// OutputNames lists the model's output names in the order Run returns them.
func (m *Model) OutputNames() []string {
	names := make([]string, len(m.Outputs))
	for i, o := range m.Outputs {
		names[i] = o.Name
	}
	return names
}
