package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// InstallOptions describe a kernelspec: what Jupyter runs to start the
// kernel and where the spec is written.
//
// The location is exactly one of User (the default when none is set),
// SysPrefix or Prefix, as for `jupyter kernelspec install`:
//   - User: the user's Jupyter data directory (JUPYTER_DATA_DIR, else
//     $XDG_DATA_HOME/jupyter or ~/.local/share/jupyter on Linux,
//     ~/Library/Jupyter on macOS, %APPDATA%\jupyter on Windows);
//   - SysPrefix: the prefix of the Python environment running Jupyter
//     (what `python3 -c 'import sys; print(sys.prefix)'` prints);
//   - Prefix: any prefix DIR.
//
// With SysPrefix or Prefix the spec goes to PREFIX/share/jupyter/kernels/NAME.
type InstallOptions struct {
	Name        string // kernelspec directory name, [a-zA-Z0-9._-]+; default "memwall"
	DisplayName string // name shown in the launcher; default Name
	Language    string // default Name

	// Executable is the kernel binary; it is made absolute. Required.
	Executable string
	// Args follow the executable in argv; default ["kernel", "{connection_file}"].
	Args []string

	// InterruptMode is "message" (the default) or "signal". With "message"
	// Jupyter interrupts by sending interrupt_request on the control
	// channel: it works the same on every OS, through remote kernel
	// gateways and provisioners that cannot signal the process, and does
	// not depend on process groups. The kernel also catches SIGINT when
	// served with Options.HandleSignals, so "signal" works too.
	InterruptMode string

	Env      map[string]string // extra environment for the kernel process
	Metadata map[string]any    // kernelspec metadata

	// Logo is drawn into logo-64x64.png and logo-32x32.png; nil draws the
	// default logo (a brick wall).
	Logo image.Image

	User      bool
	SysPrefix string
	Prefix    string
}

var kernelNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// Dir returns the kernelspec directory the options designate.
func (o InstallOptions) Dir() (string, error) {
	name := o.Name
	if name == "" {
		name = "memwall"
	}
	if !kernelNameRE.MatchString(name) {
		return "", fmt.Errorf("kernelspec name %q: only letters, digits, '.', '_' and '-' are allowed", name)
	}
	n := 0
	for _, b := range []bool{o.User, o.SysPrefix != "", o.Prefix != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		return "", errors.New("kernelspec: choose only one of user, sys-prefix and prefix")
	}
	var base string
	switch {
	case o.SysPrefix != "":
		base = filepath.Join(o.SysPrefix, "share", "jupyter")
	case o.Prefix != "":
		base = filepath.Join(o.Prefix, "share", "jupyter")
	default:
		d, err := UserDataDir()
		if err != nil {
			return "", err
		}
		base = d
	}
	abs, err := filepath.Abs(filepath.Join(base, "kernels", strings.ToLower(name)))
	if err != nil {
		return "", err
	}
	return abs, nil
}

// UserDataDir returns the user's Jupyter data directory as jupyter_core
// computes it.
func UserDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kernelspec: no home directory: %w", err)
	}
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Jupyter"), nil
	case "windows":
		if a := os.Getenv("APPDATA"); a != "" {
			return filepath.Join(a, "jupyter"), nil
		}
		return filepath.Join(home, "AppData", "Roaming", "jupyter"), nil
	default:
		if x := os.Getenv("XDG_DATA_HOME"); x != "" {
			return filepath.Join(x, "jupyter"), nil
		}
		return filepath.Join(home, ".local", "share", "jupyter"), nil
	}
}

// Install writes a kernelspec (kernel.json and two logos) and returns its
// directory. An existing spec of the same name is replaced.
func Install(opts InstallOptions) (dir string, err error) {
	dir, err = opts.Dir()
	if err != nil {
		return "", err
	}
	if opts.Executable == "" {
		return "", errors.New("kernelspec: no executable given")
	}
	exe, err := filepath.Abs(opts.Executable)
	if err != nil {
		return "", fmt.Errorf("kernelspec: executable %s: %w", opts.Executable, err)
	}
	if fi, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("kernelspec: executable: %w", err)
	} else if fi.IsDir() {
		return "", fmt.Errorf("kernelspec: executable %s is a directory", exe)
	}
	name := opts.Name
	if name == "" {
		name = "memwall"
	}
	mode := opts.InterruptMode
	switch mode {
	case "":
		mode = "message"
	case "message", "signal":
	default:
		return "", fmt.Errorf("kernelspec: interrupt mode %q: want \"message\" or \"signal\"", mode)
	}
	args := opts.Args
	if args == nil {
		args = []string{"kernel", "{connection_file}"}
	}
	spec := map[string]any{
		"argv":           append([]string{exe}, args...),
		"display_name":   firstNonEmpty(opts.DisplayName, name),
		"language":       firstNonEmpty(opts.Language, name),
		"interrupt_mode": mode,
		"env":            opts.Env,
		"metadata":       opts.Metadata,
	}
	if opts.Env == nil {
		spec["env"] = map[string]string{}
	}
	if opts.Metadata == nil {
		spec["metadata"] = map[string]any{}
	}
	js, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("kernelspec: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("kernelspec: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), append(js, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("kernelspec: %w", err)
	}
	for _, size := range []int{64, 32} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, logo(opts.Logo, size)); err != nil {
			return "", fmt.Errorf("kernelspec: logo: %w", err)
		}
		p := filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", size, size))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return "", fmt.Errorf("kernelspec: %w", err)
		}
	}
	return dir, nil
}

// Uninstall removes the kernelspec the options designate and returns its
// directory. It refuses to remove a directory without a kernel.json.
func Uninstall(opts InstallOptions) (dir string, err error) {
	dir, err = opts.Dir()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "kernel.json")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return dir, fmt.Errorf("kernelspec %s: not installed", dir)
		}
		return dir, fmt.Errorf("kernelspec: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return dir, fmt.Errorf("kernelspec: %w", err)
	}
	return dir, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// logo renders img (or the default logo) at size×size by sampling.
func logo(img image.Image, size int) image.Image {
	if img == nil {
		return brickWall(size)
	}
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			sx := b.Min.X + (2*x+1)*b.Dx()/(2*size)
			sy := b.Min.Y + (2*y+1)*b.Dy()/(2*size)
			dst.Set(x, y, img.At(sx, sy))
		}
	}
	return dst
}

// brickWall draws the default logo: a wall of orange bricks with light
// mortar on a transparent background, rounded corners, and one brick in
// blue (the byte that had to wait for memory).
func brickWall(size int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	brick := color.NRGBA{0xd3, 0x5f, 0x2e, 0xff}
	dark := color.NRGBA{0xa8, 0x45, 0x1f, 0xff}
	blue := color.NRGBA{0x2e, 0x7b, 0xd3, 0xff}
	mortar := color.NRGBA{0xf2, 0xe6, 0xd8, 0xff}
	rows := 4
	rowH := size / rows
	brickW := size / 2
	m := max(1, size/32) // mortar thickness
	r := size / 8        // corner radius
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if outsideRounded(x, y, size, r) {
				continue
			}
			row := y / rowH
			off := 0
			if row%2 == 1 {
				off = brickW / 2
			}
			bx := (x + off) % brickW
			by := y % rowH
			if bx < m || by < m || row >= rows {
				img.SetNRGBA(x, y, mortar)
				continue
			}
			col := (x + off) / brickW
			c := brick
			if (row+col)%3 == 0 {
				c = dark
			}
			if row == 1 && col == 1 {
				c = blue
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func outsideRounded(x, y, size, r int) bool {
	cx, cy := -1, -1
	switch {
	case x < r && y < r:
		cx, cy = r, r
	case x >= size-r && y < r:
		cx, cy = size-r-1, r
	case x < r && y >= size-r:
		cx, cy = r, size-r-1
	case x >= size-r && y >= size-r:
		cx, cy = size-r-1, size-r-1
	default:
		return false
	}
	dx, dy := x-cx, y-cy
	return dx*dx+dy*dy > r*r
}
