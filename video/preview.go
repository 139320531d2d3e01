package video

import (
	"bytes"
	"fmt"
	"image/jpeg"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/draw"
	"github.com/facegate/facegate/video/ffmpeg"
	"github.com/facegate/facegate/video/track"
)

// Preview subscribes to the annotated preview: a JPEG of each analysed frame with boxes, track ids and names,
// and the stream's zones and counting lines, made only while somebody watches. The channel keeps only the newest frame (a slow viewer skips frames) and is
// closed when the pipeline stops. Call cancel when done.
func (p *Pipeline) Preview() (frames <-chan []byte, cancel func()) {
	ch := make(chan []byte, 1)
	p.mu.Lock()
	p.previews[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.previews[ch]; ok {
			delete(p.previews, ch)
			close(ch)
		}
	}
}

func (p *Pipeline) sendPreview(fr ffmpeg.Frame, faces []facegate.Face, tracks []*track.Track) {
	marks := make([]draw.Mark, len(faces))
	for i, f := range faces {
		t := tracks[i]
		m := draw.Mark{Box: f.Box, Label: t.ID}
		if st := p.states[t.ID]; st != nil {
			switch {
			case st.match != nil:
				name := st.match.DisplayName
				if name == "" {
					name = st.match.ExternalID
				}
				if name == "" {
					name = st.match.Subject
				}
				m.Label, m.Known = fmt.Sprintf("%s %s %.2f", t.ID, name, st.match.Score), true
			case st.decision == facegate.EventUnknown:
				m.Label = t.ID + " unknown"
			}
		}
		marks[i] = m
	}
	img := draw.Marks(fr.Img, marks)
	draw.Geometry(img, p.st.Zones, p.st.Lines)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		return
	}
	b := buf.Bytes()
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.previews {
		select { // keep only the newest frame
		case <-ch:
		default:
		}
		select {
		case ch <- b:
		default:
		}
	}
}
