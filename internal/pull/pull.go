// Package pull downloads the real TinyStories checkpoints and the Llama 2
// tokenizer from their public homes into the user's models directory.
// memwall pull and the %pull magic share it.
//
// A download goes to NAME.part beside the final file and is resumed from
// there with an HTTP Range request, both after a connection is cut (up to
// a few times in one call) and on the next call. The file only gets its
// final name after it is checked: a model's header must parse and give
// exactly the named shape, its size must be the shape's, and every weight
// must be a finite number; the tokenizer must parse with 32000 pieces and
// match the digest of the copy built into the binary. A file that fails
// the check is deleted, so a partial or wrong file never becomes the
// model.
package pull

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/memwall/memwall/builtin"
	"github.com/memwall/memwall/engine"
	"github.com/memwall/memwall/internal/locate"
	"github.com/memwall/memwall/internal/suggest"
)

// BaseURLEnv names the environment variable that, when set, replaces
// every file's home: NAME is then fetched from $MEMWALL_PULL_BASE_URL/FILE.
// Tests point it at a local server.
const BaseURLEnv = "MEMWALL_PULL_BASE_URL"

// Item is a file memwall pull knows how to fetch.
type Item struct {
	Name  string // what the user types: "stories15M", "tokenizer"
	File  string // the file name on disk and on the server
	URL   string // its public home
	Shape string // the engine shape a model must have; "" for the tokenizer
	What  string
}

// Items are the known files, smallest first.
var Items = []Item{
	{Name: "stories15M", File: "stories15M.bin", URL: "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin", Shape: "stories15M",
		What: "TinyStories 15M (dim 288, 6 layers), fp32, llama2.c v0; uses tokenizer.bin"},
	{Name: "stories42M", File: "stories42M.bin", URL: "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories42M.bin", Shape: "stories42M",
		What: "TinyStories 42M (dim 512, 8 layers), fp32, llama2.c v0; uses tokenizer.bin"},
	{Name: "stories110M", File: "stories110M.bin", URL: "https://huggingface.co/karpathy/tinyllamas/resolve/main/stories110M.bin", Shape: "stories110M",
		What: "TinyStories 110M (dim 768, 12 layers), fp32, llama2.c v0; uses tokenizer.bin"},
	{Name: "tokenizer", File: "tokenizer.bin", URL: "https://github.com/karpathy/llama2.c/raw/master/tokenizer.bin",
		What: "the Llama 2 vocabulary (32000 pieces) as llama2.c ships it; also built into the binary"},
}

// Names lists the known names.
func Names() []string {
	out := make([]string, len(Items))
	for i, it := range Items {
		out[i] = it.Name
	}
	return out
}

// Lookup finds a known item by name, with or without ".bin"; the error
// suggests the nearest known names.
func Lookup(name string) (Item, error) {
	for _, it := range Items {
		if name == it.Name || name == it.File {
			return it, nil
		}
	}
	msg := fmt.Sprintf("no known model %q", name)
	if near := suggest.Nearest(strings.TrimSuffix(name, ".bin"), Names(), 2); len(near) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(near, " or "))
	}
	return Item{}, fmt.Errorf("%s; memwall pull knows %s", msg, strings.Join(Names(), ", "))
}

// Size is the exact size the item's file must have.
func (it Item) Size() int64 {
	if it.Shape == "" {
		f, _ := builtin.Lookup(it.File)
		return f.Size
	}
	c, err := engine.Shape(it.Shape)
	if err != nil {
		return -1
	}
	n, err := c.FileSize()
	if err != nil {
		return -1
	}
	return n
}

// Options configures Pull. The zero value downloads into DefaultDir.
type Options struct {
	Dir     string       // destination directory (default DefaultDir())
	BaseURL string       // replaces every item's home (default $MEMWALL_PULL_BASE_URL)
	Client  *http.Client // default: a client with connection timeouts
	// Progress, when set, is called as bytes arrive (at most every
	// Interval) and once more when the download ends.
	Progress func(Progress)
	// Interval between progress calls (default 200 ms).
	Interval time.Duration
	// Retries is how many times a cut connection is resumed within one
	// call (default 3; negative: none).
	Retries int
}

// DefaultDir is where pulled files go: the user's data directory
// ($XDG_DATA_HOME/memwall/models), which the model search covers.
func DefaultDir() string { return locate.DataDir() }

// Progress is the state of a download.
type Progress struct {
	Name        string
	Done, Total int64         // bytes on disk so far; the file's size
	Resumed     int64         // bytes that were already on disk when this call started
	Rate        float64       // bytes per second over this call's transfer
	ETA         time.Duration // at Rate, for the bytes left; 0 when unknown
	Finished    bool
}

// Result describes a file in place.
type Result struct {
	Item
	Path           string
	Size           int64
	SHA256         string
	Resumed        int64 // bytes reused from an earlier partial download
	Downloaded     int64 // bytes fetched in this call
	AlreadyPresent bool  // the file was there and valid; nothing was fetched
	Source         string
}

// Status is one line of List.
type Status struct {
	Item
	Path    string // where the file is (or would go)
	Present bool
	Partial int64 // bytes of an unfinished download, 0 if none
}

// List reports every known item and whether it is in dir (DefaultDir when
// "").
func List(dir string) []Status {
	if dir == "" {
		dir = DefaultDir()
	}
	var out []Status
	for _, it := range Items {
		st := Status{Item: it, Path: filepath.Join(dir, it.File)}
		if fi, err := os.Stat(st.Path); err == nil && fi.Mode().IsRegular() && fi.Size() == it.Size() {
			st.Present = true
		}
		if fi, err := os.Stat(st.Path + ".part"); err == nil {
			st.Partial = fi.Size()
		}
		out = append(out, st)
	}
	return out
}

// NetworkError is a failure to reach the server at all.
type NetworkError struct {
	URL string
	Dir string // where the file would go
	Err error
}

func (e *NetworkError) Error() string {
	host := e.URL
	if u, err := url.Parse(e.URL); err == nil {
		host = u.Host
	}
	return fmt.Sprintf("cannot reach %s (%v): is there a network connection? memwall pull downloads from the internet; without one, copy the file into %s by hand", host, e.Err, e.Dir)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// source is where an item is fetched from.
func (o Options) source(it Item) string {
	base := o.BaseURL
	if base == "" {
		base = os.Getenv(BaseURLEnv)
	}
	if base == "" {
		return it.URL
	}
	return strings.TrimSuffix(base, "/") + "/" + it.File
}

// Pull fetches the named item into the models directory, resuming an
// earlier partial download, and returns the checked file. When the file is
// already there and passes the check nothing is fetched.
func Pull(ctx context.Context, name string, o Options) (*Result, error) {
	it, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		if o.Dir = DefaultDir(); o.Dir == "" {
			return nil, errors.New("no models directory: set $XDG_DATA_HOME or $HOME, or give a directory")
		}
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}}
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("models directory: %w", err)
	}
	final := filepath.Join(o.Dir, it.File)
	src := o.source(it)
	res := &Result{Item: it, Path: final, Source: src}
	if _, err := os.Stat(final); err == nil {
		sum, err := check(it, final)
		if err != nil {
			return nil, fmt.Errorf("%s is already there but is not a valid %s (%w); remove it and pull again", final, it.Name, err)
		}
		res.SHA256, res.Size, res.AlreadyPresent = sum, it.Size(), true
		return res, nil
	}
	part := final + ".part"
	want := it.Size()
	d := &download{it: it, o: o, part: part, src: src, want: want, start: time.Now()}
	if fi, err := os.Stat(part); err == nil {
		d.resumed = fi.Size()
		if d.resumed > want {
			os.Remove(part)
			d.resumed = 0
		}
	}
	for attempt := 0; ; attempt++ {
		before := d.fetched
		err = d.fetch(ctx)
		if err == nil {
			break
		}
		var cut *cutError
		if errors.As(err, &cut) && ctx.Err() == nil && attempt < o.Retries {
			// Resume from what is on disk: at once if this attempt made
			// progress, after a pause growing with the attempts if not.
			if d.fetched == before {
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(attempt+1) * time.Second):
				}
			}
			continue
		}
		if ctx.Err() != nil {
			kept := "nothing was kept"
			if have := d.onDisk(); have > 0 {
				kept = fmt.Sprintf("%s of %s are kept in %s and pulling again resumes from there", BytesText(have), BytesText(want), filepath.Base(part))
			}
			return nil, fmt.Errorf("pull %s interrupted: %s; nothing was put under %s: %w", it.Name, kept, final, context.Cause(ctx))
		}
		if cut != nil {
			return nil, fmt.Errorf("pull %s: %w; %s of %s are kept in %s, pulling again resumes", it.Name, err, BytesText(d.onDisk()), BytesText(want), part)
		}
		return nil, fmt.Errorf("pull %s from %s: %w", it.Name, src, err)
	}
	res.Resumed, res.Downloaded = d.resumed, d.fetched
	sum, err := check(it, part)
	if err != nil {
		os.Remove(part)
		return nil, fmt.Errorf("pull %s from %s: the downloaded file is not a valid %s and was deleted: %w", it.Name, src, it.Name, err)
	}
	if err := os.Rename(part, final); err != nil {
		return nil, err
	}
	res.SHA256, res.Size = sum, want
	d.report(true)
	return res, nil
}

type download struct {
	it        Item
	o         Options
	part, src string
	want      int64
	resumed   int64 // on disk before this call (0 if the server made us start over)
	done      int64 // bytes in the partial file now
	fetched   int64 // bytes received in this call, over every attempt
	start     time.Time
	last      time.Time
}

// cutError is a transfer that ended before the whole file arrived; what
// arrived is kept.
type cutError struct{ err error }

func (e *cutError) Error() string { return "the connection was cut: " + e.err.Error() }
func (e *cutError) Unwrap() error { return e.err }

func (d *download) onDisk() int64 {
	if fi, err := os.Stat(d.part); err == nil {
		return fi.Size()
	}
	return 0
}

func (d *download) report(finished bool) {
	if d.o.Progress == nil {
		return
	}
	now := time.Now()
	if !finished && now.Sub(d.last) < d.o.Interval {
		return
	}
	d.last = now
	p := Progress{Name: d.it.Name, Done: d.done, Total: d.want, Resumed: d.resumed, Finished: finished}
	if el := now.Sub(d.start).Seconds(); el > 0 && d.fetched > 0 {
		p.Rate = float64(d.fetched) / el
		p.ETA = time.Duration(float64(d.want-p.Done) / p.Rate * float64(time.Second))
	}
	d.o.Progress(p)
}

// fetch requests the rest of the file and appends it to the partial file.
func (d *download) fetch(ctx context.Context) error {
	have := d.onDisk()
	d.done = have
	if have == d.want {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.src, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if isNetwork(err) {
			return &NetworkError{URL: d.src, Dir: d.o.Dir, Err: unwrapURL(err)}
		}
		return err
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			return fmt.Errorf("asked for bytes from %d, the server sent %q", have, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		// A fresh download, or a server that ignores Range: start over.
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The server's file ends before what is already on disk.
		os.Remove(d.part)
		return fmt.Errorf("the server's file ends before byte %d (HTTP 416, %s), but a %s file is %d bytes: it is not the expected file; the partial download was deleted",
			have, resp.Header.Get("Content-Range"), d.it.Name, d.want)
	default:
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		os.Remove(d.part)
		return fmt.Errorf("the server sent a web page (Content-Type %s), not a checkpoint: the address is wrong or asks for a login", ct)
	}
	if n := resp.ContentLength; n >= 0 && have+n != d.want {
		os.Remove(d.part)
		return fmt.Errorf("the server offers %d bytes from byte %d, but a %s file is exactly %d bytes: it is not the expected file", n, have, d.it.Name, d.want)
	}
	f, err := os.OpenFile(d.part, flags, 0o644)
	if err != nil {
		return err
	}
	if have == 0 {
		d.resumed, d.done = 0, 0
	}
	body := bufio.NewReaderSize(resp.Body, 1<<16)
	if have == 0 {
		head, _ := body.Peek(512)
		if looksHTML(head) {
			f.Close()
			os.Remove(d.part)
			return errors.New("the server sent a web page, not a checkpoint: the address is wrong or asks for a login")
		}
	}
	buf := make([]byte, 1<<16)
	left := d.want - have
	for left > 0 {
		n, rerr := body.Read(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				f.Close()
				return err
			}
			left -= int64(n)
			d.done += int64(n)
			d.fetched += int64(n)
			d.report(false)
		}
		if rerr != nil && left > 0 {
			f.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if rerr == io.EOF && resp.ContentLength < 0 {
				// A body of unknown length that ended cleanly: the
				// server's file is this short.
				os.Remove(d.part)
				return fmt.Errorf("the server's file ended after %d bytes, but a %s file is exactly %d bytes: it is not the expected file", d.want-left, d.it.Name, d.want)
			}
			return &cutError{rerr}
		}
	}
	if n, _ := body.Read(buf[:1]); n > 0 {
		f.Close()
		os.Remove(d.part)
		return fmt.Errorf("the server sends more than %d bytes, the exact size of a %s file: it is not the expected file", d.want, d.it.Name)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func rangeStart(cr string) (int64, bool) {
	// "bytes START-END/TOTAL"
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

func looksHTML(b []byte) bool {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	return strings.HasPrefix(s, "<!doctype html") || strings.HasPrefix(s, "<html") || strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<head")
}

func isNetwork(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH)
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// check validates a downloaded file as the item and returns its SHA-256.
// The file is read once for the digest and, for a model, its weights.
func check(it Item, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if want := it.Size(); fi.Size() != want {
		return "", fmt.Errorf("%s is %d bytes, a %s file is exactly %d", filepath.Base(path), fi.Size(), it.Name, want)
	}
	if it.Shape == "" {
		if _, err := engine.LoadTokenizer(path, 32000); err != nil {
			return "", err
		}
		sum, err := digest(path, -1)
		if err != nil {
			return "", err
		}
		if f, ok := builtin.Lookup(it.File); ok && f.SHA256 != sum {
			return "", fmt.Errorf("SHA-256 %s differs from llama2.c's tokenizer.bin (%s)", sum, f.SHA256)
		}
		return sum, nil
	}
	weights, err := checkModel(it, path)
	if err != nil {
		return "", err
	}
	return digest(path, weights)
}

// checkModel opens the file as a checkpoint (header, sizes) and compares
// its header with the named shape; it returns the offset of the first
// tensor, where the weights start.
func checkModel(it Item, path string) (int64, error) {
	m, err := engine.Open(path, engine.LoadOptions{})
	if err != nil {
		return 0, err
	}
	got := m.Config
	var weights int64
	if len(m.Tensors) > 0 {
		weights = m.Tensors[0].Offset
	}
	m.Close()
	want, err := engine.Shape(it.Shape)
	if err != nil {
		return 0, err
	}
	if got.Version != engine.V0 || got.Dim != want.Dim || got.HiddenDim != want.HiddenDim || got.Layers != want.Layers ||
		got.Heads != want.Heads || got.KVHeads != want.KVHeads || got.Vocab != want.Vocab || got.SeqLen != want.SeqLen || got.Shared != want.Shared {
		return 0, fmt.Errorf("its header (%s, dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, seq_len %d) is not the %s shape (dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, seq_len %d)",
			got.FormatName(), got.Dim, got.HiddenDim, got.Layers, got.Heads, got.KVHeads, got.Vocab, got.SeqLen,
			it.Shape, want.Dim, want.HiddenDim, want.Layers, want.Heads, want.KVHeads, want.Vocab, want.SeqLen)
	}
	return weights, nil
}

// digest returns the hex SHA-256 of the file at path. With floatsFrom >= 0
// the same pass checks that every float32 from that offset on is a finite
// number: a block of garbage in the file (a proxy's error page spliced in,
// a disk error) almost surely holds a NaN or Inf bit pattern.
func digest(path string, floatsFrom int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if floatsFrom < 0 {
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if _, err := io.CopyN(h, f, floatsFrom); err != nil {
		return "", err
	}
	buf := make([]byte, 1<<20)
	pos := floatsFrom
	for {
		n, err := io.ReadFull(f, buf)
		h.Write(buf[:n])
		for i := 0; i+4 <= n; i += 4 {
			// NaN and Inf are the values whose exponent bits are all ones.
			if bits := binary.LittleEndian.Uint32(buf[i:]); bits&0x7f800000 == 0x7f800000 {
				return "", fmt.Errorf("the weight at byte offset %d is %v: the file is corrupt", pos+int64(i), math.Float32frombits(bits))
			}
		}
		pos += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// BytesText formats a byte count in decimal units, as progress lines and
// messages show it ("12.3 MB").
func BytesText(n int64) string {
	v := float64(n)
	for _, u := range []string{"B", "kB", "MB", "GB"} {
		if v < 1000 || u == "GB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1000
	}
	return ""
}

// Line describes p in one line: a bar of width characters (none when
// width is 0), the fraction, bytes, rate and time left.
func (p Progress) Line(width int) string {
	var b strings.Builder
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	if width > 0 {
		n := int(frac * float64(width))
		b.WriteString("[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] ")
	}
	fmt.Fprintf(&b, "%3.0f%%  %s / %s", 100*frac, BytesText(p.Done), BytesText(p.Total))
	if p.Resumed > 0 {
		fmt.Fprintf(&b, " (%s resumed)", BytesText(p.Resumed))
	}
	if p.Rate > 0 {
		fmt.Fprintf(&b, "  %s/s", BytesText(int64(p.Rate)))
		if !p.Finished {
			fmt.Fprintf(&b, "  %s left", p.ETA.Round(time.Second))
		}
	}
	return b.String()
}
