// Package site holds the settings an administrator sets once for every
// memwall kernel on a machine: where synthetic and converted models are
// cached (one directory shared by every user, so that thirty students
// share one copy of each file in the page cache), and the limits a cell
// runs under. Each setting is read from, in order:
//
//  1. the environment, MEMWALL_<NAME> (e.g. MEMWALL_CACHE_DIR), which is
//     how a kernelspec's "env" sets it for every kernel Jupyter starts;
//  2. the site file: $MEMWALL_CONFIG, else /etc/memwall/memwall.conf, of
//     "name = value" lines ('#' starts a comment);
//  3. the built-in default of whoever asks.
package site

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultFile is the site file read when $MEMWALL_CONFIG is not set.
const DefaultFile = "/etc/memwall/memwall.conf"

var (
	once    sync.Once
	values  map[string]string
	file    string
	loadErr error
)

func load() {
	file = os.Getenv("MEMWALL_CONFIG")
	if file == "" {
		file = DefaultFile
	}
	values = map[string]string{}
	f, err := os.Open(file)
	if err != nil {
		if !os.IsNotExist(err) || os.Getenv("MEMWALL_CONFIG") != "" {
			loadErr = fmt.Errorf("site config %s: %w", file, err)
		}
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			loadErr = fmt.Errorf("site config %s: line %d: want \"name = value\", got %q", file, n, line)
			continue
		}
		values[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		loadErr = fmt.Errorf("site config %s: %w", file, err)
	}
}

// Err is what went wrong reading the site file (nil when it is absent).
func Err() error {
	once.Do(load)
	return loadErr
}

// EnvName is the environment variable of a setting: MEMWALL_ and the name
// in upper case.
func EnvName(name string) string { return "MEMWALL_" + strings.ToUpper(name) }

// Lookup returns a setting's value and where it came from ("$MEMWALL_X" or
// the site file's path), or ok false when neither sets it.
func Lookup(name string) (value, source string, ok bool) {
	if v := os.Getenv(EnvName(name)); v != "" {
		return v, "$" + EnvName(name), true
	}
	once.Do(load)
	if v, found := values[strings.ToLower(name)]; found && v != "" {
		return v, file, true
	}
	return "", "", false
}

// CacheDir is the directory of synthetic and converted checkpoints, and
// where it came from: the cache_dir setting, else the user's cache
// (os.UserCacheDir()/memwall, ~/.cache/memwall on Linux), else a directory
// under the system's temporary directory.
func CacheDir() (dir, source string) {
	if v, src, ok := Lookup("cache_dir"); ok {
		return v, src
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "memwall"), "the user's cache directory"
	}
	return filepath.Join(os.TempDir(), "memwall-cache"), "the temporary directory"
}

// Reset forgets the site file read so far (tests that change
// $MEMWALL_CONFIG).
func Reset() {
	once = sync.Once{}
	values, file, loadErr = nil, "", nil
}
