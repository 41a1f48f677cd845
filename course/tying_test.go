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
