package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/server"
)

// TestExportAndErasure: a person enrolled with consent is seen by a stream; the data-subject export holds
// everything stored about them (consent, face with template and thumbnail, match crop, events); erasing them
// removes all of it, from the API, from the events in memory, and from every file in the data directory
// (template bytes and JPEG data included, SQLite free pages too). The stream is a clip of fake photos of the
// person (fakeClip): what is stored and erased does not depend on the models, only the match does.
func TestExportAndErasure(t *testing.T) {
	clip := fakeClip(t, 3, fakeFace{7, 8, 90})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("stage")}); err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateSubject(ctx, "stage", api.SubjectRequest{ExternalID: ptr("lin"), DisplayName: ptr("Lin-Manuel Miranda"),
		Consent: consent("Lin-Manuel Miranda")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{7, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	sid := created.Subject.ID
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "clip", Source: clip, Gallery: "stage", NoRealtime: true})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ctx, c, info.ID)
	matches, err := c.RecentEvents(ctx, api.EventFilter{Types: []facegate.EventType{facegate.EventMatch}}, 0)
	if err != nil || len(matches) == 0 {
		t.Fatalf("no match event: %v", err)
	}
	for _, ev := range matches {
		if ev.Match == nil || ev.Match.Subject != sid {
			t.Fatalf("match event %s is not of the enrolled person: %+v", ev.ID, ev.Match)
		}
	}

	// The export holds everything.
	zipped, err := c.ExportSubject(ctx, "stage", sid)
	if err != nil {
		t.Fatal(err)
	}
	files := unzip(t, zipped)
	var doc api.SubjectExport
	if err := json.Unmarshal(files["subject.json"], &doc); err != nil {
		t.Fatalf("subject.json: %v", err)
	}
	if doc.Subject.ID != sid || doc.Gallery.Purpose != facegate.PurposeAccessControl || len(doc.Consents) != 1 ||
		len(doc.Faces) != 1 || len(doc.Faces[0].Template) != facegate.TemplateDim || len(doc.MatchCrops) == 0 || len(doc.Events) == 0 {
		t.Fatalf("export: subject %s, purpose %s, %d consents, %d faces, %d crops, %d events", doc.Subject.ID, doc.Gallery.Purpose,
			len(doc.Consents), len(doc.Faces), len(doc.MatchCrops), len(doc.Events))
	}
	for _, name := range []string{doc.Faces[0].ThumbnailFile, doc.MatchCrops[0].File} {
		if !bytes.HasPrefix(files[name], []byte{0xff, 0xd8}) {
			t.Errorf("%s in the export is not a JPEG (%d bytes)", name, len(files[name]))
		}
	}
	// Before the erasure the scan finds both (so it would see them after).
	var needle []byte
	for _, v := range doc.Faces[0].Template[:16] {
		needle = binary.LittleEndian.AppendUint32(needle, math.Float32bits(v))
	}
	if tf, jf := scanDir(t, e.dir, needle); len(tf) == 0 || len(jf) == 0 {
		t.Fatalf("before erasure: template bytes in %v, JPEG data in %v; the scan cannot see stored data", tf, jf)
	}

	// Erasure.
	if err := c.DeleteSubject(ctx, "stage", sid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subject(ctx, "stage", sid); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("subject after erasure: %v", err)
	}
	if _, err := c.MatchCrop(ctx, matches[0].ID); !api.IsCode(err, api.CodeNotFound) {
		t.Fatalf("match crop after erasure: %v", err)
	}
	left, _ := c.RecentEvents(ctx, api.EventFilter{}, 0)
	for _, ev := range left {
		if ev.Match != nil && ev.Match.Subject == sid {
			t.Fatalf("event %s still names the erased subject", ev.ID)
		}
	}
	for _, table := range []string{"subjects", "faces", "consents", "match_crops"} {
		if n := count(t, e.store, table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	// Nothing of them in any file of the data directory: not the template's bytes, not a JPEG.
	if tf, jf := scanDir(t, e.dir, needle); len(tf) != 0 || len(jf) != 0 {
		t.Errorf("after erasure: template bytes in %v, JPEG data in %v", tf, jf)
	}
	if _, err := c.ExportSubject(ctx, "stage", sid); !api.IsCode(err, api.CodeNotFound) || strings.Contains(err.Error(), "zip") {
		t.Fatalf("export after erasure: %v", err)
	}
}

// scanDir lists the files under dir that contain needle, and those that contain JPEG data.
func scanDir(t *testing.T, dir string, needle []byte) (withNeedle, withJPEG []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(data, needle) {
			withNeedle = append(withNeedle, filepath.Base(p))
		}
		for i := 0; i+3 < len(data); i++ {
			if data[i] == 0xff && data[i+1] == 0xd8 && data[i+2] == 0xff && (data[i+3] == 0xe0 || data[i+3] == 0xdb) {
				withJPEG = append(withJPEG, filepath.Base(p))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return withNeedle, withJPEG
}
