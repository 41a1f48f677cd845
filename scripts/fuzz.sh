#!/usr/bin/env bash
# Run every Fuzz* target in the repository for FUZZTIME each (default 10s).
#
#   scripts/fuzz.sh                 every target
#   FUZZTIME=1m scripts/fuzz.sh     longer
#   scripts/fuzz.sh ./kernel        only the targets of some packages
#
# A crash makes `go test -fuzz` write the failing input to
# <pkg>/testdata/fuzz/<Target>/<hash>; commit that file: from then on the
# plain `go test` replays it as a regular test case. The script runs every
# target, then fails if any of them failed. Minimising each newly
# interesting input is bounded too (FUZZMINIMIZETIME, default 2s): unbounded,
# it can take the whole budget of a short run.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

if [ $# -gt 0 ]; then
	pkgs=("$@")
else
	mapfile -t pkgs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . |
		grep -v '/testdata/' | xargs -r -n1 dirname | sort -u)
fi

failed=()
total=0
for pkg in "${pkgs[@]}"; do
	pkg=./${pkg#./}
	mapfile -t targets < <(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' "$pkg"/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' | sort -u)
	for t in "${targets[@]}"; do
		total=$((total + 1))
		echo "=== fuzz $pkg $t ($FUZZTIME)"
		if ! "$GO" test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "${FUZZMINIMIZETIME:-2s}" "$pkg"; then
			failed+=("$pkg $t")
		fi
	done
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $total targets failed:"
	printf '  %s\n' "${failed[@]}"
	echo "the failing inputs are in <pkg>/testdata/fuzz/<Target>/; commit them as regression cases"
	exit 1
fi
echo "fuzz: all $total targets ran for $FUZZTIME without a failure"
