package course

import "testing"

func TestTyingVerdicts(t *testing.T) {
	r, err := Tying(t.Context(), t.TempDir(), "stories260K")
	if err != nil {
		t.Fatal(err)
	}
	cs := r.Conclusions()
	if v := verdict(t, cs, "size"); v != DoesNotHold {
		t.Errorf("same-size files: %q", v)
	}
	if v := verdict(t, cs, "sign"); v != Holds {
		t.Errorf("header sign: %q", v)
	}
	if r.Files[0].HeaderVoc != -512 || r.Files[1].HeaderVoc != 1024 {
		t.Errorf("header vocab %d %d", r.Files[0].HeaderVoc, r.Files[1].HeaderVoc)
	}
	r.Files[1].Bytes++ // constructed: sizes that differ
	if v := verdict(t, r.Conclusions(), "size"); v != Holds {
		t.Errorf("different sizes: %q", v)
	}
}

func TestFirstTokenVerdicts(t *testing.T) {
	r := &FirstTokenResult{FileBytes: 1 << 20, PageSize: 4096, Cold: FirstTokenRun{Ms: 5, Minor: 200}, Warm: FirstTokenRun{Ms: 1}}
	cs := r.Conclusions()
	if v := verdict(t, cs, "cold_slower"); v != Holds {
		t.Errorf("cold 5x: %q", v)
	}
	if v := verdict(t, cs, "storage"); v != DoesNotHold {
		t.Errorf("no major faults: %q", v)
	}
	r.Cold.Ms, r.Cold.Major = 0.5, 3
	cs = r.Conclusions()
	if v := verdict(t, cs, "cold_slower"); v != DoesNotHold {
		t.Errorf("cold faster: %q", v)
	}
	if v := verdict(t, cs, "storage"); v != Holds {
		t.Errorf("major faults: %q", v)
	}
}

func TestShapesVerdicts(t *testing.T) {
	r, err := Shapes([]string{"stories260K", "stories110M"}, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	cs := r.Conclusions()
	if v := verdict(t, cs, "fits_stories260K"); v != Holds {
		t.Errorf("1 MB in a 32 MiB cache: %q", v)
	}
	if v := verdict(t, cs, "fits_stories110M"); v != DoesNotHold {
		t.Errorf("438 MB: %q", v)
	}
	if r.Rows[1].GroupSize != 64 || r.Rows[1].Untied <= r.Rows[1].Tied {
		t.Errorf("stories110M row %+v", r.Rows[1])
	}
	r.LLC = 0
	if v := verdict(t, r.Conclusions(), "fits_stories110M"); v != Unsupported {
		t.Errorf("unknown cache: %q", v)
	}
}
