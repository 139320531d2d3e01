// Package index is an in-memory index of face templates (unit-length float32 vectors, typically of
// dimension 512) for 1:N search. The caller keeps it in step with its store.
//
// # Representation
//
// Templates are grouped by gallery. Each gallery stores every template twice, in slot order:
//
//   - as int8 codes (symmetric scalar quantisation: scale = max|v_i|/127, q_i = round(v_i/scale)),
//     rows padded with zeros to a multiple of 64 bytes, in contiguous segments of 8192 rows (4 MiB
//     for dim 512), so that a search scans memory sequentially;
//   - as the original float32 vector (segments of 8192 rows), used for exact re-ranking.
//
// # Search
//
// Search quantises the query the same way, computes the int8 dot product of every template (AVX2
// assembly on amd64, pure Go elsewhere), splitting the slab across GOMAXPROCS goroutines, and keeps
// the best R = max(10k, 256) subjects by approximate score (dot*scale_q*scale_v, per-subject max).
// Every template of those candidate subjects is then re-scored exactly in float32, and the top k
// subjects are returned with exact scores. SearchExact is the plain float32 reference scan.
//
// Scores are dot products; for unit-length vectors they are cosine similarities. Add does not
// normalise its input.
//
// # Removal
//
// Removal compacts: the last slot of the gallery is moved into the freed slot (swap-remove), so the
// slab stays dense, there are no tombstones to skip, and memory is reused by later adds (a trailing
// segment is released once the gallery shrinks more than one segment below it). Slot order is
// therefore not insertion order; nothing in the API depends on it.
//
// # Concurrency
//
// All methods are safe for concurrent use. Searches of a gallery run in parallel with each other
// under the gallery's read lock; a mutation of a gallery takes its write lock for the short time
// needed to copy one row (it waits for searches in flight on that gallery). Mutations are serialised
// among themselves by a separate mutex, and searches of other galleries are not blocked.
package index

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Hit is one search result: a subject, its best-matching face and that face's exact score.
type Hit struct {
	Subject string
	Face    string
	Score   float32 // dot product of the query and the face's template (cosine for unit vectors)
}

// Errors returned by Add (wrapped with details; test with errors.Is).
var (
	ErrDimension     = errors.New("index: template has the wrong dimension")
	ErrDuplicateFace = errors.New("index: face id already present")
	ErrEmptyID       = errors.New("index: empty face id")
	ErrNotFinite     = errors.New("index: template has a NaN or infinite value")
)

const (
	segShift = 13
	segSize  = 1 << segShift // rows per segment
	segMask  = segSize - 1
)

// Index is an in-memory 1:N search index over galleries of templates. The zero value is not usable;
// call New.
type Index struct {
	dim    int // float32 components per template
	stride int // int8 bytes per row: dim rounded up to a multiple of 64

	wmu     sync.Mutex          // serialises mutations; guards faces and each gallery's maps
	faces   map[string]*gallery // face id -> gallery holding it (guarded by wmu)
	scratch []int8              // int8 row being added (guarded by wmu)

	mu        sync.RWMutex // guards the galleries map (written only with wmu held as well)
	galleries map[string]*gallery
}

// gallery holds one gallery's templates. Fields below mu are written only with both Index.wmu and
// mu (write) held, and read either with mu (read) held or with Index.wmu held.
type gallery struct {
	name string

	mu    sync.RWMutex
	n     int         // templates stored (slots 0..n-1)
	codes [][]int8    // segments of segSize*stride int8 codes
	vecs  [][]float32 // segments of segSize*dim float32 components
	scale []float32   // per slot: int8 quantisation scale
	subj  []int32     // per slot: subject index
	face  []string    // per slot: face id

	subjName  []string  // per subject index: subject id
	subjSlots [][]int32 // per subject index: its slots

	// Used only by mutators (Index.wmu held).
	faceSlot map[string]int32
	subjIdx  map[string]int32
}

func newGallery(name string) *gallery {
	return &gallery{name: name, faceSlot: make(map[string]int32), subjIdx: make(map[string]int32)}
}

// New returns an empty index for templates of dimension dim (dim > 0; 512 for the usual models).
func New(dim int) *Index {
	if dim <= 0 {
		panic(fmt.Sprintf("index: invalid dimension %d", dim))
	}
	return &Index{
		dim:       dim,
		stride:    (dim + 63) &^ 63,
		faces:     make(map[string]*gallery),
		galleries: make(map[string]*gallery),
	}
}

// Dim returns the template dimension.
func (ix *Index) Dim() int { return ix.dim }

// MemoryPerTemplate returns the bytes stored per template: the int8 row (padded to a multiple of 64),
// the float32 copy, the scale, the subject index and the face-id string header. The id strings
// themselves and the hash maps from ids (face -> slot, face -> gallery, subject -> index) are not
// included, since they depend on the ids; with short ids they add roughly 100-200 bytes.
func (ix *Index) MemoryPerTemplate() int {
	return ix.stride + 4*ix.dim + 4 + 4 + 16
}

// Check reports whether v can be a template of the index: ErrDimension when len(v) != dim, ErrNotFinite when a
// component is NaN or infinite.
func (ix *Index) Check(v []float32) error {
	if len(v) != ix.dim {
		return fmt.Errorf("%w: got %d, want %d", ErrDimension, len(v), ix.dim)
	}
	for _, x := range v {
		if x-x != 0 { // NaN or ±Inf
			return ErrNotFinite
		}
	}
	return nil
}

// Add stores template v (copied) for face of subject in gallery. It fails if len(v) != dim, if v has
// a NaN or infinite component, if face is empty, or if face is already present in any gallery (face
// ids are unique across the index, since Remove takes a face id alone).
func (ix *Index) Add(gallery, subject, face string, v []float32) error {
	if err := ix.Check(v); err != nil {
		return err
	}
	if face == "" {
		return ErrEmptyID
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if _, ok := ix.faces[face]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateFace, face)
	}
	g := ix.galleries[gallery]
	if g == nil {
		g = newGallery(gallery)
		ix.mu.Lock()
		ix.galleries[gallery] = g
		ix.mu.Unlock()
	}
	slot := g.n
	if slot == math.MaxInt32 {
		return errors.New("index: gallery full")
	}
	// Allocate a new segment outside the gallery lock (it is not visible to readers yet).
	var newCodes []int8
	var newVecs []float32
	if slot>>segShift == len(g.codes) {
		newCodes = make([]int8, segSize*ix.stride)
		newVecs = make([]float32, segSize*ix.dim)
	}
	s, known := g.subjIdx[subject]
	if len(ix.scratch) != ix.stride {
		ix.scratch = make([]int8, ix.stride)
	}
	sc := quantize(v, ix.scratch)

	g.mu.Lock()
	if newCodes != nil {
		g.codes = append(g.codes, newCodes)
		g.vecs = append(g.vecs, newVecs)
	}
	off := slot & segMask
	copy(g.codes[slot>>segShift][off*ix.stride:(off+1)*ix.stride], ix.scratch)
	copy(g.vecs[slot>>segShift][off*ix.dim:(off+1)*ix.dim], v)
	if !known {
		s = int32(len(g.subjName))
		g.subjName = append(g.subjName, subject)
		g.subjSlots = append(g.subjSlots, nil)
	}
	g.subjSlots[s] = append(g.subjSlots[s], int32(slot))
	g.scale = append(g.scale, sc)
	g.subj = append(g.subj, s)
	g.face = append(g.face, face)
	g.n++
	g.mu.Unlock()

	if !known {
		g.subjIdx[subject] = s
	}
	g.faceSlot[face] = int32(slot)
	ix.faces[face] = g
	return nil
}

// quantize writes the symmetric int8 codes of v to dst (len(dst) >= len(v); the rest of dst is
// zeroed) and returns the scale max|v_i|/127 (0 for an all-zero vector): q_i = round(v_i/scale),
// rounding half away from zero.
func quantize(v []float32, dst []int8) float32 {
	var m float32
	for _, x := range v {
		if a := math.Float32frombits(math.Float32bits(x) &^ (1 << 31)); a > m {
			m = a
		}
	}
	clear(dst[len(v):])
	if m == 0 {
		clear(dst)
		return 0
	}
	scale := m / 127
	inv := 1 / float64(scale)
	dst = dst[:len(v)]
	for i, x := range v {
		// |r| <= 127 (up to the rounding of inv); adding ±0.5 in float64 is exact, so truncating
		// rounds half away from zero.
		r := float64(x) * inv
		r += math.Copysign(0.5, r)
		dst[i] = int8(max(min(int32(r), 127), -127))
	}
	return scale
}

// Remove deletes a face from whichever gallery holds it; it reports whether the face was present.
func (ix *Index) Remove(face string) bool {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	g := ix.faces[face]
	if g == nil {
		return false
	}
	g.mu.Lock()
	ix.removeLocked(g, face)
	g.mu.Unlock()
	ix.dropIfEmpty(g)
	return true
}

// RemoveSubject deletes every face of subject in gallery and returns how many were removed.
func (ix *Index) RemoveSubject(gallery, subject string) int {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	g := ix.galleries[gallery]
	if g == nil {
		return 0
	}
	s, ok := g.subjIdx[subject]
	if !ok {
		return 0
	}
	slots := g.subjSlots[s]
	faces := make([]string, len(slots))
	for i, slot := range slots {
		faces[i] = g.face[slot]
	}
	g.mu.Lock()
	for _, f := range faces {
		ix.removeLocked(g, f)
	}
	g.mu.Unlock()
	ix.dropIfEmpty(g)
	return len(faces)
}

// RemoveGallery deletes a whole gallery and returns how many templates it held. Searches already in
// flight on it finish on the old contents.
func (ix *Index) RemoveGallery(gallery string) int {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	g := ix.galleries[gallery]
	if g == nil {
		return 0
	}
	for _, f := range g.face[:g.n] {
		delete(ix.faces, f)
	}
	ix.mu.Lock()
	delete(ix.galleries, gallery)
	ix.mu.Unlock()
	return g.n
}

// dropIfEmpty forgets an empty gallery (wmu held).
func (ix *Index) dropIfEmpty(g *gallery) {
	if g.n == 0 {
		ix.mu.Lock()
		if ix.galleries[g.name] == g {
			delete(ix.galleries, g.name)
		}
		ix.mu.Unlock()
	}
}

// removeLocked deletes face from g (wmu and g.mu held for writing), moving the last slot into the
// freed one.
func (ix *Index) removeLocked(g *gallery, face string) {
	delete(ix.faces, face)
	i, ok := g.faceSlot[face]
	if !ok {
		return
	}
	delete(g.faceSlot, face)

	s := g.subj[i]
	lst := g.subjSlots[s]
	for j, x := range lst {
		if x == i {
			lst[j] = lst[len(lst)-1]
			lst = lst[:len(lst)-1]
			break
		}
	}
	if len(lst) == 0 {
		g.dropSubject(s)
	} else {
		g.subjSlots[s] = lst
	}

	last := int32(g.n - 1)
	if i != last {
		dstOff, srcOff := int(i&segMask), int(last&segMask)
		copy(g.codes[i>>segShift][dstOff*ix.stride:(dstOff+1)*ix.stride],
			g.codes[last>>segShift][srcOff*ix.stride:(srcOff+1)*ix.stride])
		copy(g.vecs[i>>segShift][dstOff*ix.dim:(dstOff+1)*ix.dim],
			g.vecs[last>>segShift][srcOff*ix.dim:(srcOff+1)*ix.dim])
		g.scale[i] = g.scale[last]
		g.subj[i] = g.subj[last]
		g.face[i] = g.face[last]
		g.faceSlot[g.face[i]] = i
		ls := g.subjSlots[g.subj[i]]
		for j, x := range ls {
			if x == last {
				ls[j] = i
				break
			}
		}
	}
	g.face[last] = ""
	g.scale = g.scale[:last]
	g.subj = g.subj[:last]
	g.face = g.face[:last]
	g.n--
	// Release trailing segments, keeping one spare to avoid reallocating at a boundary.
	for len(g.codes) >= 2 && g.n <= (len(g.codes)-2)<<segShift {
		k := len(g.codes) - 1
		g.codes[k], g.vecs[k] = nil, nil
		g.codes, g.vecs = g.codes[:k], g.vecs[:k]
	}
}

// dropSubject removes subject index s (which has no slots left), moving the last subject into it.
func (g *gallery) dropSubject(s int32) {
	delete(g.subjIdx, g.subjName[s])
	last := int32(len(g.subjName) - 1)
	if s != last {
		g.subjName[s] = g.subjName[last]
		g.subjSlots[s] = g.subjSlots[last]
		g.subjIdx[g.subjName[s]] = s
		for _, slot := range g.subjSlots[s] {
			g.subj[slot] = s
		}
	}
	g.subjName[last] = ""
	g.subjSlots[last] = nil
	g.subjName = g.subjName[:last]
	g.subjSlots = g.subjSlots[:last]
}

// lookup returns the gallery named name, or nil.
func (ix *Index) lookup(name string) *gallery {
	ix.mu.RLock()
	g := ix.galleries[name]
	ix.mu.RUnlock()
	return g
}

// Len returns the number of templates in gallery (0 if unknown).
func (ix *Index) Len(gallery string) int {
	g := ix.lookup(gallery)
	if g == nil {
		return 0
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.n
}

// Subjects returns the number of distinct subjects in gallery (0 if unknown).
func (ix *Index) Subjects(gallery string) int {
	g := ix.lookup(gallery)
	if g == nil {
		return 0
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.subjName)
}
