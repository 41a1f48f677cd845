package inspect

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// npyHeader builds the version 1.0 header for a little-endian float32,
// C-order array of the given shape: magic, version, header length, and the
// dict literal padded with spaces and a final newline so the data starts at
// a multiple of 64 bytes.
func npyHeader(shape []int) ([]byte, error) {
	var dims []string
	for _, d := range shape {
		dims = append(dims, strconv.Itoa(d))
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple)
	const pre = len(npyMagic) + 2 + 2
	total := pre + len(dict) + 1 // +1 for the newline
	total = (total + 63) / 64 * 64
	hlen := total - pre
	if hlen > math.MaxUint16 {
		return nil, fmt.Errorf("npy: header for %d dimensions is too long for format 1.0", len(shape))
	}
	h := make([]byte, 0, total)
	h = append(h, npyMagic...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(hlen))
	h = append(h, dict...)
	for len(h) < total-1 {
		h = append(h, ' ')
	}
	return append(h, '\n'), nil
}

// checkShape verifies that shape describes len(data) elements.
func checkShape(shape []int, n int) error {
	count := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		if d != 0 && count > math.MaxInt/d {
			return fmt.Errorf("npy: shape %v overflows", shape)
		}
		count *= d
	}
	if count != n {
		return fmt.Errorf("npy: shape %v holds %d values, data has %d", shape, count, n)
	}
	return nil
}

// EncodeNPY writes data as a NumPy .npy stream (format 1.0, '<f4', C
// order) with the given shape; an empty shape is a scalar (one value).
func EncodeNPY(w io.Writer, shape []int, data []float32) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	h, err := npyHeader(shape)
	if err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for i, v := range data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) || i == len(data)-1 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// WriteNPY writes data to path as a .npy file, atomically: it writes a
// temporary file in the same directory, syncs it, and renames it over path.
// On any error the temporary file is removed, an existing file at path is
// left as it was, and the error names path.
func WriteNPY(path string, shape []int, data []float32) error {
	return writeNPYAtomic(path, shape, data, nil)
}

// writeNPYAtomic is WriteNPY with an optional wrapper around the file
// writer, so tests can inject write failures.
func writeNPYAtomic(path string, shape []int, data []float32, wrap func(io.Writer) io.Writer) (err error) {
	if err := checkShape(shape, len(data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // harmless if already closed
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	var w io.Writer = f
	if wrap != nil {
		w = wrap(f)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	if err = EncodeNPY(bw, shape, data); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadNPY reads a .npy file of little-endian float32 in C order (as written
// by WriteNPY; format versions 1.0 and 2.0 are accepted).
func ReadNPY(path string) (shape []int, data []float32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	shape, data, err = DecodeNPY(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return shape, data, nil
}

// DecodeNPY reads a .npy stream of little-endian float32 in C order.
func DecodeNPY(r io.Reader) (shape []int, data []float32, err error) {
	pre := make([]byte, 8)
	if _, err := io.ReadFull(r, pre); err != nil {
		return nil, nil, fmt.Errorf("npy: short header: %w", err)
	}
	if string(pre[:6]) != npyMagic {
		return nil, nil, errors.New("npy: not a .npy file (bad magic)")
	}
	var hlen int
	switch pre[6] {
	case 1:
		b := make([]byte, 2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, fmt.Errorf("npy: short header: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint16(b))
	case 2, 3:
		b := make([]byte, 4)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, fmt.Errorf("npy: short header: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(b))
		if hlen > 1<<20 {
			return nil, nil, fmt.Errorf("npy: header length %d is implausible", hlen)
		}
	default:
		return nil, nil, fmt.Errorf("npy: unsupported format version %d.%d", pre[6], pre[7])
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, nil, fmt.Errorf("npy: short header: %w", err)
	}
	h := string(hb)
	descr, err := dictValue(h, "descr")
	if err != nil {
		return nil, nil, err
	}
	if d := strings.Trim(descr, `'"`); d != "<f4" {
		return nil, nil, fmt.Errorf("npy: dtype %s not supported (want '<f4')", d)
	}
	fo, err := dictValue(h, "fortran_order")
	if err != nil {
		return nil, nil, err
	}
	if fo != "False" {
		return nil, nil, errors.New("npy: Fortran order not supported")
	}
	st, err := dictValue(h, "shape")
	if err != nil {
		return nil, nil, err
	}
	st = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(st, "("), ")"))
	count := 1
	for _, f := range strings.Split(st, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, nil, fmt.Errorf("npy: bad shape %q", st)
		}
		if d != 0 && count > (1<<40)/d {
			return nil, nil, fmt.Errorf("npy: shape %q too large", st)
		}
		shape = append(shape, d)
		count *= d
	}
	if shape == nil {
		shape = []int{}
	}
	raw := make([]byte, 0, min(count*4, 64<<20))
	buf := make([]byte, 64<<10)
	for len(raw) < count*4 {
		n, err := r.Read(buf[:min(len(buf), count*4-len(raw))])
		raw = append(raw, buf[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) && len(raw) == count*4 {
				break
			}
			return nil, nil, fmt.Errorf("npy: data truncated (%d of %d bytes): %w", len(raw), count*4, err)
		}
	}
	data = make([]float32, count)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return shape, data, nil
}

// dictValue extracts the value of key from the header's Python dict
// literal: a quoted string, a bare word, or a parenthesised tuple.
func dictValue(h, key string) (string, error) {
	i := strings.Index(h, "'"+key+"'")
	if i < 0 {
		i = strings.Index(h, `"`+key+`"`)
	}
	if i < 0 {
		return "", fmt.Errorf("npy: header has no %q", key)
	}
	rest := h[i+len(key)+2:]
	j := strings.Index(rest, ":")
	if j < 0 {
		return "", fmt.Errorf("npy: malformed header near %q", key)
	}
	rest = strings.TrimSpace(rest[j+1:])
	switch {
	case strings.HasPrefix(rest, "("):
		k := strings.Index(rest, ")")
		if k < 0 {
			return "", errors.New("npy: unterminated shape tuple")
		}
		return rest[:k+1], nil
	case strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, `"`):
		k := strings.IndexByte(rest[1:], rest[0])
		if k < 0 {
			return "", errors.New("npy: unterminated string in header")
		}
		return rest[:k+2], nil
	default:
		k := strings.IndexAny(rest, ",}")
		if k < 0 {
			return "", errors.New("npy: malformed header")
		}
		return strings.TrimSpace(rest[:k]), nil
	}
}
