package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
)

// inferencesSetting is the store setting that overrides Config.Inferences: a JSON list.
const inferencesSetting = "inferences"

// sensitive are the inferences a deployment may switch on (liveness is always allowed).
var sensitive = []engine.Attribute{engine.AttrAge, engine.AttrGender, engine.AttrExpression}

// loadInferences starts from Config.Inferences and applies the stored setting, when an admin made one.
func (s *Server) loadInferences(ctx context.Context) error {
	list := slices.Clone(s.cfg.Inferences)
	v, err := s.cfg.Store.Setting(ctx, inferencesSetting)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if v != "" {
		list = nil
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return fmt.Errorf("server: stored inferences setting %q: %w", v, err)
		}
	}
	s.inferences.Store(&list)
	return nil
}

func (s *Server) enabledInferences() []engine.Attribute {
	if p := s.inferences.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Server) settingsOut() api.Settings {
	out := api.Settings{Inferences: []string{}}
	for _, a := range s.enabledInferences() {
		out.Inferences = append(out.Inferences, string(a))
	}
	return out
}

// getSettings is GET /v1/settings.
func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.settingsOut())
	return nil
}

// putSettings is PUT /v1/settings {"inferences": ["age", ...]}: which sensitive inferences /v1/detect may run.
// The choice is stored (it outlives a restart and overrides 'serve --enable-inferences') and audited.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) error {
	var b api.Settings
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	list := []engine.Attribute{}
	for _, name := range b.Inferences {
		a := engine.Attribute(strings.TrimSpace(name))
		if !slices.Contains(sensitive, a) {
			return errf(http.StatusBadRequest, codeBadRequest, "inference %q cannot be switched: want age, gender or expression (liveness is always on; there is no other)", name)
		}
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	js, _ := json.Marshal(list)
	note(r, "inferences", strings.Trim(string(js), "[]")) // before the change: the entry is written with it
	if err := s.cfg.Store.SetSetting(r.Context(), inferencesSetting, string(js)); err != nil {
		return err
	}
	s.inferences.Store(&list)
	writeJSON(w, http.StatusOK, s.settingsOut())
	return nil
}
