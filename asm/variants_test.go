package asm

import "testing"

func TestVariantsListed(t *testing.T) {
	for _, v := range Variants() {
		t.Logf("%-8s rank %2d available %-5v features %v", v.Name, v.Rank, v.Available, v.Features)
	}
	t.Logf("auto = %s", Best())
	if _, err := Lookup("nonesuch"); err == nil {
		t.Error("Lookup of an unknown variant succeeded")
	}
}
