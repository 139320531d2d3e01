package sqlite

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/facegate/facegate"
)

func randFloat(r *rand.Rand) float32 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return float32(r.IntN(2000) - 1000)
	case 2:
		return math.Float32frombits(r.Uint32()&^(0xff<<23) | uint32(1+r.IntN(254))<<23) // any finite, normal
	case 3:
		return math.Float32frombits(r.Uint32() & 0x807fffff) // subnormal or ±0
	case 4:
		return []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-7, 1e21, 1e20, 1e-6}[r.IntN(7)]
	}
	return r.Float32()
}

// The fast decoders take everything encoding/json writes for these types and agree with json.Unmarshal on it.
func TestFastJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	issues := []string{"too_small", "blurred", "dark", "ünïcödé", "日本", ""}
	for i := range 20000 {
		box := facegate.Box{X1: randFloat(r), Y1: randFloat(r), X2: randFloat(r), Y2: randFloat(r)}
		q := facegate.Quality{Size: randFloat(r), InterEye: randFloat(r), Sharpness: randFloat(r), Brightness: randFloat(r),
			Contrast: randFloat(r), Pose: facegate.Pose{Yaw: randFloat(r), Pitch: randFloat(r), Roll: randFloat(r)},
			LeftEyeOpen: randFloat(r), RightEyeOpen: randFloat(r), Score: randFloat(r)}
		for range r.IntN(4) {
			q.Issues = append(q.Issues, issues[r.IntN(len(issues))])
		}
		bb, _ := json.Marshal(box)
		qb, _ := json.Marshal(q)
		var gotBox facegate.Box
		var gotQ facegate.Quality
		if !fastBox(bb, &gotBox) || !fastQuality(qb, &gotQ) {
			t.Fatalf("%d: fast path refused %s / %s", i, bb, qb)
		}
		if !reflect.DeepEqual(gotBox, box) || !reflect.DeepEqual(gotQ, q) {
			t.Fatalf("%d: decoded\n%+v %+v\nwant\n%+v %+v", i, gotBox, gotQ, box, q)
		}
	}
}

// On anything else they fall back, so the result (or the error) is json.Unmarshal's.
func TestFastJSONFallback(t *testing.T) {
	for _, in := range []string{
		`{}`, `{"x1":1}`, ` {"x1":1}`, `{"x1":1} `, `{"x1" : 1}`, `{"X1":1}`, `{"x1":1,"x1":2}`, `{"x1":null}`, `null`,
		`{"x1":01}`, `{"x1":1.}`, `{"x1":.5}`, `{"x1":+1}`, `{"x1":-}`, `{"x1":1e}`, `{"x1":1e+}`, `{"x1":1E-3}`, `{"x1":-0}`,
		`{"x1":1e39}`, `{"x1":"1"}`, `{"x1":1,}`, `{"x1":1}x`, `{"x1":1`, ``, `{"other":1}`, `{"x1":1,"other":[1,{"a":2}]}`,
		`{"score":0.5,"issues":[]}`, `{"issues":["a\"b","\u00e9"]}`, `{"issues":["a",]}`, `{"issues":null}`, `{"issues":["a"`,
		`{"pose":{"yaw":1,"pitch":2}}`, `{"pose":{}}`, `{"pose":{"yaw":1,"extra":2}}`, `{"pose":null}`, `{"score":1,"pose":{"roll":-3.5e-2}}`,
		`{"size":3.4028235e38}`, `{"size":3.5e38}`, `{"size":1e-46}`, `{"size":123456789012345678901234567890}`,
	} {
		var fb, jb facegate.Box
		fe, je := decodeBox([]byte(in), &fb), json.Unmarshal([]byte(in), &jb)
		if (fe == nil) != (je == nil) || (fe == nil && !reflect.DeepEqual(fb, jb)) {
			t.Errorf("box %s: %+v, %v; json.Unmarshal: %+v, %v", in, fb, fe, jb, je)
		}
		var fq, jq facegate.Quality
		fe, je = decodeQuality([]byte(in), &fq), json.Unmarshal([]byte(in), &jq)
		if (fe == nil) != (je == nil) || (fe == nil && !reflect.DeepEqual(fq, jq)) {
			t.Errorf("quality %s: %+v, %v; json.Unmarshal: %+v, %v", in, fq, fe, jq, je)
		}
	}
}
