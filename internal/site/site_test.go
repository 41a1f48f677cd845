package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The environment wins over the site file, the file over the default;
// comments and blank lines are ignored; a malformed line is reported.
func TestLookupOrder(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "memwall.conf")
	if err := os.WriteFile(conf, []byte("# class settings\ncache_dir = /srv/memwall-cache  # shared\n\nMAX_CELL=2MiB\nbroken line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MEMWALL_CONFIG", conf)
	t.Setenv("MEMWALL_CACHE_DIR", "")
	t.Setenv("MEMWALL_MAX_CELL", "")
	Reset()
	defer Reset()
	if d, src := CacheDir(); d != "/srv/memwall-cache" || src != conf {
		t.Errorf("CacheDir from the file: %q from %q", d, src)
	}
	if v, _, ok := Lookup("max_cell"); !ok || v != "2MiB" {
		t.Errorf("max_cell (upper-case key in the file): %q %v", v, ok)
	}
	if err := Err(); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("the malformed line: %v", err)
	}
	t.Setenv("MEMWALL_CACHE_DIR", "/from/env")
	if d, src := CacheDir(); d != "/from/env" || src != "$MEMWALL_CACHE_DIR" {
		t.Errorf("CacheDir from the environment: %q from %q", d, src)
	}
	if _, _, ok := Lookup("capture_budget"); ok {
		t.Error("a setting nobody set was found")
	}
	// No file at the default place is no error.
	t.Setenv("MEMWALL_CONFIG", "")
	Reset()
	if _, err := os.Stat(DefaultFile); os.IsNotExist(err) && Err() != nil {
		t.Errorf("an absent site file: %v", Err())
	}
}
