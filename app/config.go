package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rulebrush/rulebrush/engine/imageio"
)

// ConfigDir is where the app keeps its settings and autosave:
// os.UserConfigDir()/rulebrush.
func ConfigDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config dir: %w", err)
	}
	return filepath.Join(d, "rulebrush"), nil
}

type settings struct {
	Model string `json:"model,omitempty"`
}

func settingsPath() (string, error) {
	d, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "settings.json"), nil
}

// RecentModel returns the model opened last, or "" when there is none or it is gone.
func RecentModel() string {
	p, err := settingsPath()
	if err != nil {
		return ""
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	var st settings
	if json.Unmarshal(raw, &st) != nil {
		return ""
	}
	if _, err := os.Stat(st.Model); err != nil {
		return ""
	}
	return st.Model
}

// RememberModel records path as the model to open next time.
func RememberModel(path string) error {
	p, err := settingsPath()
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("remember model: %w", err)
	}
	return imageio.WriteFileAtomic(p, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(settings{Model: path})
	})
}

// AutosaveInterval is how often a changed session is written to the autosave file, so a
// crash loses at most this much work.
const AutosaveInterval = 3 * time.Second

// AutosavePath is the file the running session is autosaved to.
func AutosavePath() (string, error) {
	d, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "autosave", "session"+SessionExt), nil
}

// FindAutosave returns the autosave a previous run left behind, if any.
func FindAutosave() (string, bool) {
	p, err := AutosavePath()
	if err != nil {
		return "", false
	}
	_, err = os.Stat(p)
	return p, err == nil
}

// RemoveAutosave deletes the autosave: after a clean exit, or when the user declines it.
func RemoveAutosave() error {
	p, err := AutosavePath()
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove autosave: %w", err)
	}
	return nil
}

// AutosaveDue reports whether the session changed since its last autosave.
func (s *Session) AutosaveDue() bool { return s.version != s.autosaved }

// Autosave takes a snapshot now (call on the UI goroutine) and returns a function that
// writes it to the autosave file (call it on any goroutine).
func (s *Session) Autosave() func() error {
	sn := s.Snapshot()
	s.autosaved = s.version
	return func() error {
		p, err := AutosavePath()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("autosave: %w", err)
		}
		return sn.Write(p)
	}
}
